// What only a SQLite queue needs from its operator: an online backup and an
// integrity check. PostgreSQL has its own tools for both (pg_dump, amcheck);
// renderqctl says so for a PostgreSQL store (docs/scaling.md).
//
// Both open their own connection to the file, so they run beside live
// responders and workers. Errors as Status, kUnavailable for storage trouble.
#pragma once

#include <string>
#include <vector>

#include "core/model/status.h"

namespace renderq {

// Copies the database to `destination` as one consistent snapshot while
// writers go on in the WAL. Written beside the destination and renamed over
// it, so a failed backup never leaves a half-written file under that name.
Status BackupSqliteDatabase(const std::string& db_path, const std::string& destination);

// PRAGMA integrity_check and foreign_key_check; empty when both are clean.
Result<std::vector<std::string>> CheckSqliteIntegrity(const std::string& db_path);

}  // namespace renderq

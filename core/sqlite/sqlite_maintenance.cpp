#include "core/sqlite/sqlite_maintenance.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/sqlite/sqlite_db.h"

namespace renderq {
namespace {

Result<std::unique_ptr<SqliteDb>> OpenExisting(const std::string& db_path) {
  SqliteOptions options;
  options.create = false;
  return SqliteDb::Open(db_path, options);
}

}  // namespace

Status BackupSqliteDatabase(const std::string& db_path, const std::string& destination) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> source, OpenExisting(db_path));
  const std::string partial = destination + ".partial";
  std::remove(partial.c_str());
  {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(partial.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> copy(raw, sqlite3_close_v2);
    if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "open " + partial);
    sqlite3_backup* backup = sqlite3_backup_init(raw, "main", source->handle(), "main");
    if (backup == nullptr) return SqliteStatus(raw, sqlite3_errcode(raw), "backup init");
    // One step copies every page under one read transaction: a consistent
    // snapshot, while writers go on in the WAL.
    rc = sqlite3_backup_step(backup, -1);
    const int finish_rc = sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE || finish_rc != SQLITE_OK) {
      const Status error = SqliteStatus(raw, rc != SQLITE_DONE ? rc : finish_rc,
                                        rc != SQLITE_DONE ? "backup step" : "backup finish");
      std::remove(partial.c_str());
      return error;
    }
  }
  if (std::rename(partial.c_str(), destination.c_str()) != 0) {
    Status error = Status::Unavailable("rename " + partial + ": " + std::strerror(errno));
    std::remove(partial.c_str());
    return error;
  }
  return Status::Ok();
}

Result<std::vector<std::string>> CheckSqliteIntegrity(const std::string& db_path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenExisting(db_path));
  std::vector<std::string> problems;
  {
    ASSIGN_OR_RETURN(Statement q, db->Prepare("PRAGMA integrity_check"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      if (q.Text(0) != "ok") problems.push_back(q.Text(0));
    }
  }
  ASSIGN_OR_RETURN(Statement fk, db->Prepare("PRAGMA foreign_key_check"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, fk.Step());
    if (!row) break;
    problems.push_back("foreign key: " + fk.Text(0) + " row " + fk.Text(1) +
                       " refers to a missing " + fk.Text(2));
  }
  return problems;
}

}  // namespace renderq

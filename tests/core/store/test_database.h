// The database a store test runs on: SQLite (a file in the test's directory)
// or PostgreSQL (a fresh database on a server this process starts, see
// pg_test_database.cpp), chosen by the test binary's own argument after
// Boost.Test's: `renderq_store_tests -- --backend=postgres`. ctest runs every
// contract suite once per backend the build has.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/status.h"

namespace renderq::testing {

// "sqlite" (the default) or "postgres".
std::string_view TestBackendName();

class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  // What --db would say: a path or a postgresql:// URI.
  virtual const std::string& uri() const = 0;
  // The first column of the first row of `sql` (its `?` are bound to `params`,
  // as text), for checks that look at the rows themselves.
  virtual Result<std::int64_t> QueryInt(const std::string& sql,
                                        const std::vector<std::string>& params = {}) = 0;
  // Statements without results (to corrupt or age rows on purpose).
  virtual Status Execute(const std::string& sql) = 0;
  // What the backend's own consistency check reports; empty when clean.
  virtual Result<std::vector<std::string>> IntegrityProblems() = 0;
};

// A new, empty database of the chosen backend; `dir` is the test's own.
std::unique_ptr<TestDatabase> NewTestDatabase(const std::filesystem::path& dir);

}  // namespace renderq::testing

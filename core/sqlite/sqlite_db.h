// A small RAII layer over the sqlite3 C API: a connection, its cached prepared
// statements, and transactions.
//
// Ownership: SqliteDb owns the sqlite3* and every statement prepared on it.
// A Statement handed out by SqliteDb::Prepare borrows a cached sqlite3_stmt and
// resets it (and clears its bindings) when it goes out of scope, so no
// statement keeps a read snapshot open and starves WAL checkpoints.
// Thread safety: a SqliteDb and everything borrowed from it belong to one
// thread at a time (connections are opened with SQLITE_OPEN_NOMUTEX).
// Errors: every failure becomes a Status carrying SQLite's extended result code
// and message; busy, locked, I/O errors and a full disk are kUnavailable.
// SQL is always a constant with `?` parameters: values are bound, never pasted.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/model/status.h"

namespace renderq {

// The Status for an SQLite result code, naming what was being done.
Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

struct SqliteOptions {
  int busy_timeout_ms = 5000;                  // bounded wait for the write lock
  std::int64_t journal_size_limit = 64 << 20;  // WAL is truncated to this after a checkpoint
  bool read_only = false;
  bool create = true;  // create the file if missing (ignored when read_only)
};

class SqliteDb;

// A borrowed, bound prepared statement; resets itself on destruction.
class Statement {
 public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Binds parameters 1..N in order. A failure is remembered and returned by Step().
  template <typename... Args>
  Statement& Bind(const Args&... args) {
    int index = 1;
    (BindOne(index++, args), ...);
    return *this;
  }
  Statement& BindOne(int index, std::int64_t value);
  Statement& BindOne(int index, int value) {
    return BindOne(index, static_cast<std::int64_t>(value));
  }
  Statement& BindOne(int index, bool value) {
    return BindOne(index, static_cast<std::int64_t>(value));
  }
  Statement& BindOne(int index, double value);
  Statement& BindOne(int index, std::string_view value);  // copied (SQLITE_TRANSIENT)
  Statement& BindOne(int index, const std::string& value) {
    return BindOne(index, std::string_view(value));
  }
  Statement& BindOne(int index, const char* value) {
    return BindOne(index, std::string_view(value));
  }
  Statement& BindOne(int index, std::nullopt_t);
  template <typename T>
  Statement& BindOne(int index, const std::optional<T>& value) {
    return value ? BindOne(index, *value) : BindOne(index, std::nullopt);
  }

  // Advances one row: true when a row is available, false when done.
  Result<bool> Step();
  // Runs a statement that returns no rows we need; OK when it completed.
  Status Run();

  // Column readers for the current row (0-based).
  bool IsNull(int column) const;
  std::int64_t Int(int column) const;
  double Real(int column) const;
  std::string Text(int column) const;
  std::optional<std::int64_t> OptInt(int column) const;
  std::optional<double> OptReal(int column) const;
  std::optional<std::string> OptText(int column) const;

 private:
  friend class SqliteDb;
  Statement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

class SqliteDb {
 public:
  // Opens (and with options.create, creates) the database at `path` and sets up
  // the connection: WAL, synchronous=FULL, busy_timeout, foreign_keys=ON,
  // journal_size_limit. Open only after any fork(), never before.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                const SqliteOptions& options);

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // A cached prepared statement (SQLITE_PREPARE_PERSISTENT), reset when the
  // returned Statement is destroyed. `sql` must be one statement.
  Result<Statement> Prepare(std::string_view sql);
  // Runs one or more statements without parameters (pragmas, migrations).
  Status Exec(const char* sql);

  // True while a transaction is open; SQLite rolls a transaction back by itself
  // on some errors (I/O, disk full), which callers detect with this.
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  std::int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StmtDeleter>> cache_;
};

// A write transaction: BEGIN IMMEDIATE (takes the write lock at once; a deferred
// transaction that reads then writes fails with SQLITE_BUSY_SNAPSHOT in WAL
// mode), rolled back on destruction unless Commit() succeeded.
class Transaction {
 public:
  enum class Mode { kImmediate, kDeferred };  // kDeferred: a consistent read snapshot
  static Result<Transaction> Begin(SqliteDb& db, Mode mode = Mode::kImmediate);

  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

// A nested unit inside a transaction: released on success, rolled back to its
// start otherwise, so one failed step does not sink the enclosing transaction.
class Savepoint {
 public:
  static Result<Savepoint> Begin(SqliteDb& db);

  Savepoint(Savepoint&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Savepoint& operator=(Savepoint&&) = delete;
  Savepoint(const Savepoint&) = delete;
  ~Savepoint();  // rolls back unless released

  Status Release();

 private:
  explicit Savepoint(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace renderq

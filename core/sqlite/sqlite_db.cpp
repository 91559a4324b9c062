#include "core/sqlite/sqlite_db.h"

#include <string>
#include <utility>

namespace renderq {
namespace {

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {  // the primary code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_NOLFS:
    case SQLITE_INTERRUPT: return StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT: return StatusCode::kConflict;
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return StatusCode::kInvalidArgument;
    default:  // SQLITE_ERROR (bad SQL), CORRUPT, NOTADB, SCHEMA, ...
      return StatusCode::kInternal;
  }
}

}  // namespace

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::Ok();
  std::string message = "sqlite: ";
  message += context;
  message += ": ";
  // sqlite3_errmsg describes the connection's last error, which is this one
  // as long as the caller asks at once (the connection is single-threaded).
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (code " + std::to_string(rc) + ")";
  return Status(CodeFor(rc), std::move(message));
}

// ---- Statement --------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::BindOne(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindOne(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindOne(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindOne(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteStatus(db_->handle(), bind_rc_, "bind");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_->handle(), rc, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::Text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::int64_t> Statement::OptInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}
std::optional<double> Statement::OptReal(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Real(column);
}
std::optional<std::string> Statement::OptText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

// ---- SqliteDb ---------------------------------------------------------------

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                 const SqliteOptions& options) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, path));  // closes `raw` even on failure
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 1);

  // busy_timeout first: switching to WAL needs a lock another process may hold.
  rc = sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "busy_timeout");
  RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON"));
  if (!options.read_only) {
    // journal_mode returns a row; WAL is persistent, so this is a no-op after the first open.
    ASSIGN_OR_RETURN(Statement wal, db->Prepare("PRAGMA journal_mode = WAL"));
    ASSIGN_OR_RETURN(bool row, wal.Step());
    if (!row || wal.Text(0) != "wal") {
      return Status::Unavailable("sqlite: could not switch " + path + " to WAL mode");
    }
  }
  // synchronous=FULL: a commit is on disk (WAL fsynced) before it returns.
  RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL"));
  std::string limit = "PRAGMA journal_size_limit = " + std::to_string(options.journal_size_limit);
  RETURN_IF_ERROR(db->Exec(limit.c_str()));  // a number we formatted, not a value from outside
  return db;
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // statements before the connection
  sqlite3_close_v2(db_);
}

Result<Statement> SqliteDb::Prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "prepare: " + std::string(sql));
    it = cache_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, StmtDeleter>(stmt)).first;
  }
  return Statement(this, it->second.get());
}

Status SqliteDb::Exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  sqlite3_free(error);  // the same text as sqlite3_errmsg, which SqliteStatus reads
  return SqliteStatus(db_, rc, "exec");
}

// ---- Transaction and Savepoint ---------------------------------------------

Result<Transaction> Transaction::Begin(SqliteDb& db, Mode mode) {
  ASSIGN_OR_RETURN(Statement begin,
                   db.Prepare(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  RETURN_IF_ERROR(begin.Run());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ == nullptr || !db_->InTransaction()) return;
  auto rollback = db_->Prepare("ROLLBACK");
  if (rollback.ok()) (void)rollback->Run();  // nothing more to do if even this fails
}

Status Transaction::Commit() {
  if (db_ == nullptr) return Status::Internal("sqlite: commit of a finished transaction");
  if (!db_->InTransaction()) {
    // SQLite already rolled it back (I/O error, disk full, ...).
    db_ = nullptr;
    return Status::Unavailable("sqlite: the transaction was rolled back by an earlier error");
  }
  ASSIGN_OR_RETURN(Statement commit, db_->Prepare("COMMIT"));
  Status status = commit.Run();
  if (status.ok()) db_ = nullptr;  // on failure the destructor rolls back
  return status;
}

Result<Savepoint> Savepoint::Begin(SqliteDb& db) {
  ASSIGN_OR_RETURN(Statement begin, db.Prepare("SAVEPOINT step"));
  RETURN_IF_ERROR(begin.Run());
  return Savepoint(&db);
}

Savepoint::~Savepoint() {
  if (db_ == nullptr || !db_->InTransaction()) return;
  for (const char* sql : {"ROLLBACK TO step", "RELEASE step"}) {
    auto statement = db_->Prepare(sql);
    if (statement.ok()) (void)statement->Run();
  }
}

Status Savepoint::Release() {
  if (db_ == nullptr) return Status::Internal("sqlite: release of a finished savepoint");
  if (!db_->InTransaction()) {
    db_ = nullptr;
    return Status::Unavailable("sqlite: the transaction was rolled back by an earlier error");
  }
  ASSIGN_OR_RETURN(Statement release, db_->Prepare("RELEASE step"));
  RETURN_IF_ERROR(release.Run());
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace renderq

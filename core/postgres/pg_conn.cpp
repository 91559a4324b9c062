#include "core/postgres/pg_conn.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

namespace renderq {
namespace {

// SQLSTATE classes and codes that mean "the database is not there right now".
bool Transient(std::string_view state) {
  if (state.size() != 5) return false;
  const std::string_view cls = state.substr(0, 2);
  return cls == "08"           // connection exception
         || cls == "53"        // insufficient resources (too many connections, disk full)
         || cls == "57"        // operator intervention (shutdown, statement timeout 57014)
         || cls == "58"        // system error (I/O)
         || cls == "40"        // serialization failure, deadlock: retry
         || state == "55P03"   // lock not available
         || state == "25P03";  // idle in transaction timeout
}

StatusCode CodeFor(std::string_view state) {
  if (Transient(state)) return StatusCode::kUnavailable;
  if (state.starts_with("23")) return StatusCode::kConflict;         // integrity violation
  if (state.starts_with("22")) return StatusCode::kInvalidArgument;  // data exception
  return StatusCode::kInternal;
}

std::string StatementName(std::string_view sql) {
  char name[32];
  std::snprintf(name, sizeof name, "rq_%016zx", std::hash<std::string_view>{}(sql));
  return name;
}

}  // namespace

Status PgStatus(PGconn* conn, const PGresult* result, std::string_view context) {
  std::string message =
      result != nullptr ? PQresultErrorMessage(result) : (conn ? PQerrorMessage(conn) : "");
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const char* state = result != nullptr
                          ? PQresultErrorField(const_cast<PGresult*>(result), PG_DIAG_SQLSTATE)
                          : nullptr;
  // No SQLSTATE: libpq's own failure, a connection that went away.
  const bool lost = state == nullptr || (conn != nullptr && PQstatus(conn) == CONNECTION_BAD);
  const StatusCode code = lost ? StatusCode::kUnavailable : CodeFor(state);
  return Status(code, "postgresql: " + std::string(context) + ": " + message +
                          (state ? std::string(" (SQLSTATE ") + state + ")" : ""));
}

// ---- PgResult ------------------------------------------------------------------

std::string PgResult::Text(int row, int column) const {
  return std::string(PQgetvalue(r_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(r_.get(), row, column)));
}

std::int64_t PgResult::Int(int row, int column) const {
  const char* v = PQgetvalue(r_.get(), row, column);
  std::int64_t out = 0;
  std::from_chars(v, v + std::strlen(v), out);
  return out;
}

double PgResult::Real(int row, int column) const {
  return std::strtod(PQgetvalue(r_.get(), row, column), nullptr);
}

bool PgResult::Bool(int row, int column) const {
  return PQgetvalue(r_.get(), row, column)[0] == 't';
}

std::optional<std::int64_t> PgResult::OptInt(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Int(row, column);
}

std::optional<double> PgResult::OptReal(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Real(row, column);
}

std::optional<std::string> PgResult::OptText(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Text(row, column);
}

std::vector<std::uint8_t> PgResult::Bytes(int row, int column) const {
  const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(r_.get(), row, column));
  return std::vector<std::uint8_t>(data, data + PQgetlength(r_.get(), row, column));
}

int PgResult::Changed() const {
  const char* n = PQcmdTuples(r_.get());
  return n[0] == '\0' ? 0 : std::atoi(n);
}

// ---- PgParams ------------------------------------------------------------------

PgParams& PgParams::Text(std::string v) {
  texts_.push_back(std::make_unique<std::string>(std::move(v)));
  values_.push_back(texts_.back()->c_str());
  lengths_.push_back(static_cast<int>(texts_.back()->size()));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Add(double v) {
  char text[32];
  // Round-trips every double (17 significant digits).
  std::snprintf(text, sizeof text, "%.17g", v);
  return Text(text);
}

PgParams& PgParams::Add(std::nullopt_t) {
  values_.push_back(nullptr);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Bytes(std::span<const std::uint8_t> bytes) {
  static const char kEmpty = 0;
  values_.push_back(bytes.empty() ? &kEmpty : reinterpret_cast<const char*>(bytes.data()));
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  return *this;
}

// ---- PgConn ----------------------------------------------------------------------

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& uri, int statement_timeout_ms) {
  // Defaults for what the URI leaves out. libpq lets later entries override
  // earlier ones, the URI's fields included: these come first so the URI's
  // own settings win (a multi-host URI's connect_timeout is per host).
  const char* keywords[] = {"connect_timeout",
                            "application_name",
                            "keepalives",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "tcp_user_timeout",
                            "dbname",
                            nullptr};
  const char* values[] = {"10", "renderq", "1", "5", "2", "3", "15000", uri.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  auto conn = std::unique_ptr<PgConn>(new PgConn(raw));
  if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
    return PgStatus(raw, nullptr, "connect");
  }
  PQsetNoticeReceiver(raw, &PgConn::OnNotice, conn.get());
  const std::string setup =
      "SET TIME ZONE 'UTC'; SET statement_timeout = " + std::to_string(statement_timeout_ms) +
      "; SET idle_in_transaction_session_timeout = 60000";
  RETURN_IF_ERROR(conn->Exec(setup).status());
  return conn;
}

PgConn::~PgConn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConn::Healthy() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

bool PgConn::InTransaction() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

void PgConn::OnNotice(void* self, const PGresult* notice) {
  const char* severity =
      PQresultErrorField(const_cast<PGresult*>(notice), PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity == nullptr || std::strcmp(severity, "WARNING") != 0) return;
  std::string message = PQresultErrorMessage(notice);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  static_cast<PgConn*>(self)->warning_ = std::move(message);
}

Status PgConn::Commit(const std::string& sql, std::chrono::milliseconds wait) {
  warning_.clear();
  if (PQsendQuery(conn_, sql.c_str()) == 0) return PgStatus(conn_, nullptr, "commit");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    if (PQconsumeInput(conn_) == 0) return PgStatus(conn_, nullptr, "commit");
    if (PQisBusy(conn_) == 0) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      // The server may commit later, or has: nobody can say. The connection
      // goes (its backend finishes on its own), and the caller says
      // "unavailable", never "committed".
      PQfinish(conn_);
      conn_ = nullptr;
      return Status::Unavailable("postgresql: the COMMIT did not return within " +
                                 std::to_string(wait.count()) +
                                 " ms (a synchronous standby away?): its outcome is unknown");
    }
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000))) < 0 &&
        errno != EINTR) {
      return Status::Unavailable(std::string("postgresql: commit: poll: ") + std::strerror(errno));
    }
  }
  Status outcome;
  while (PGresult* r = PQgetResult(conn_)) {
    const ExecStatusType status = PQresultStatus(r);
    if (outcome.ok() && status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      outcome = PgStatus(conn_, r, "commit");
    }
    PQclear(r);
  }
  RETURN_IF_ERROR(outcome);
  if (!warning_.empty()) {
    return Status::Unavailable(
        "postgresql: the COMMIT returned with a warning, so it may exist "
        "on this server only: " +
        warning_);
  }
  return Status::Ok();
}

Result<PgResult> PgConn::Exec(const std::string& sql) {
  PGresult* raw = PQexec(conn_, sql.c_str());
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Status error = PgStatus(conn_, raw, "exec");
    PQclear(raw);
    return error;
  }
  return PgResult(raw);
}

Result<PgResult> PgConn::Run(std::string_view sql, const PgParams& params, bool binary_result) {
  const std::string name = StatementName(sql);
  if (!prepared_.contains(name)) {
    PGresult* prepared = PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr);
    const bool ok = prepared != nullptr && PQresultStatus(prepared) == PGRES_COMMAND_OK;
    if (!ok) {
      Status error = PgStatus(conn_, prepared, "prepare");
      PQclear(prepared);
      return error;
    }
    PQclear(prepared);
    prepared_.insert(name);
  }
  PGresult* raw = PQexecPrepared(conn_, name.c_str(), params.size(), params.values(),
                                 params.lengths(), params.formats(), binary_result ? 1 : 0);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Status error = PgStatus(conn_, raw, "statement");
    PQclear(raw);
    return error;
  }
  return PgResult(raw);
}

}  // namespace renderq

// A small RAII layer over libpq: a connection, its prepared statements, and
// results.
//
// Ownership: PgConn owns the PGconn* and the names of the statements prepared
// on it; PgResult owns a PGresult*. SQL is always a constant with $n
// parameters, prepared once per connection (PQprepare) and run with
// PQexecPrepared: values are bound, never pasted. Parameters travel as text,
// except bytes (PgParams::Bytes), which travel in binary so a 60 MiB
// checkpoint is neither escaped nor hex-encoded.
// Thread safety: a PgConn and its results belong to one thread at a time
// (libpq connections are not shared between threads).
// Errors: every failure becomes a Status carrying the SQLSTATE and libpq's
// message. A lost connection, an unreachable server, a server shutting down,
// serialization failures and deadlocks are kUnavailable (retry later);
// constraint violations are kConflict; bad values are kInvalidArgument;
// anything else (a bug in our SQL) is kInternal.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/model/status.h"

namespace renderq {

// The Status for a failed result (or connection), naming what was being done.
Status PgStatus(PGconn* conn, const PGresult* result, std::string_view context);

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}

  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int column) const { return PQgetisnull(r_.get(), row, column) != 0; }
  std::string Text(int row, int column) const;
  std::int64_t Int(int row, int column) const;
  double Real(int row, int column) const;
  bool Bool(int row, int column) const;  // "t" / "f"
  std::optional<std::int64_t> OptInt(int row, int column) const;
  std::optional<double> OptReal(int row, int column) const;
  std::optional<std::string> OptText(int row, int column) const;
  // A bytea column of a result asked for in binary format.
  std::vector<std::uint8_t> Bytes(int row, int column) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int Changed() const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

// Parameters of one statement, in $1.. order.
class PgParams {
 public:
  PgParams& Add(std::int64_t v) { return Text(std::to_string(v)); }
  PgParams& Add(int v) { return Text(std::to_string(v)); }
  PgParams& Add(bool v) { return Text(v ? "true" : "false"); }
  PgParams& Add(double v);
  PgParams& Add(std::string_view v) { return Text(std::string(v)); }
  PgParams& Add(const std::string& v) { return Text(v); }
  PgParams& Add(const char* v) { return Text(v); }
  PgParams& Add(std::nullopt_t);
  template <typename T>
  PgParams& Add(const std::optional<T>& v) {
    return v ? Add(*v) : Add(std::nullopt);
  }
  // Bytes for a bytea parameter; they must outlive the statement's execution.
  PgParams& Bytes(std::span<const std::uint8_t> bytes);

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  PgParams& Text(std::string v);
  std::vector<std::unique_ptr<std::string>> texts_;  // stable addresses
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

class PgConn {
 public:
  // Connects (blocking, bounded by libpq's connect_timeout: 10 s per host
  // unless the URI says otherwise) and sets up the session: UTC, no statement
  // left running past `statement_timeout_ms`. Unless the URI sets them, TCP
  // keepalives and a user timeout make a connection to a host that went
  // silent (a partition drops packets without a reset) fail within about
  // 15 s instead of TCP's minutes; the URI's own settings win over these.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& uri,
                                                 int statement_timeout_ms = 30000);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs a prepared statement (prepared on first use on this connection).
  // `binary_result`: every column of the result in binary (for bytea reads).
  Result<PgResult> Run(std::string_view sql, const PgParams& params = PgParams{},
                       bool binary_result = false);
  // Runs SQL without parameters (BEGIN, one or more statements); the result
  // of the last one.
  Result<PgResult> Exec(const std::string& sql);
  // Ends a transaction with `sql` (COMMIT, or statements ending with it),
  // waiting at most `wait` for the server's answer. With synchronous
  // replication a COMMIT waits for the standby, as long as it takes (a
  // statement timeout does not cover that wait); past `wait` the connection
  // is given up (Healthy() turns false) and the outcome is unknown:
  // kUnavailable. Succeeds only when the server confirmed the commit without
  // a warning: a COMMIT whose wait for the standby was cancelled (an
  // operator's pg_cancel_backend, a pooler's timeout) still reports success,
  // with a WARNING that it may exist on this server only; that is kUnavailable
  // too, so nobody is told "committed" about a commit a failover could lose.
  Status Commit(const std::string& sql = "COMMIT",
                std::chrono::milliseconds wait = std::chrono::hours(24));

  // False once libpq reports the connection broken: a pool drops it.
  bool Healthy() const;
  // True while a transaction is open on the server (also an aborted one).
  bool InTransaction() const;
  PGconn* handle() const { return conn_; }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  // libpq's notice receiver: keeps the last WARNING the server sent.
  static void OnNotice(void* self, const PGresult* notice);
  PGconn* conn_;
  std::string warning_;  // the last WARNING since Commit() began; empty if none
  std::unordered_set<std::string> prepared_;  // statement names (hashes of their SQL)
};

}  // namespace renderq

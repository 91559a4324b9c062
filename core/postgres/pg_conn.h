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
  // Connects (blocking, bounded by libpq's connect_timeout, which the URI may
  // set; 10 s otherwise) and sets up the session: UTC, no statement left
  // running past `statement_timeout_ms`.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& uri,
                                                 int statement_timeout_ms = 30000);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs a prepared statement (prepared on first use on this connection).
  // `binary_result`: every column of the result in binary (for bytea reads).
  Result<PgResult> Run(std::string_view sql, const PgParams& params = PgParams{},
                       bool binary_result = false);
  // Runs SQL without parameters (BEGIN, COMMIT, one or more statements); the
  // result of the last one.
  Result<PgResult> Exec(const std::string& sql);

  // False once libpq reports the connection broken: a pool drops it.
  bool Healthy() const;
  // True while a transaction is open on the server (also an aborted one).
  bool InTransaction() const;
  PGconn* handle() const { return conn_; }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
  std::unordered_set<std::string> prepared_;  // statement names (hashes of their SQL)
};

}  // namespace renderq

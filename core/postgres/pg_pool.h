// A small pool of PostgreSQL connections to one database.
//
// A thread borrows a whole connection (libpq connections are not shared), uses
// it and gives it back. The pool holds at most `max_connections`; a thread that
// finds them all busy waits up to `wait` for one, then gets kUnavailable, so a
// burst of requests cannot exhaust the server's max_connections. A connection
// that broke (server restarted, network) or comes back inside a transaction is
// dropped, not reused, and the next Acquire() connects afresh: every program
// reconnects by itself when the database is back. A broken one takes the idle
// ones with it: they lead to the same server, which is likely gone (after a
// failover the URI finds the new primary on the next connect).
// Thread safety: Acquire may be called from any thread; a PooledPg belongs to
// the thread that acquired it. The pool must outlive every PooledPg.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/postgres/pg_conn.h"
#include "core/model/status.h"

namespace renderq {

class PgPool;

class PooledPg {
 public:
  PooledPg(PooledPg&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {
    other.pool_ = nullptr;
  }
  PooledPg& operator=(PooledPg&&) = delete;
  PooledPg(const PooledPg&) = delete;
  ~PooledPg();

  PgConn& operator*() const { return *conn_; }
  PgConn* operator->() const { return conn_.get(); }

 private:
  friend class PgPool;
  PooledPg(PgPool* pool, std::unique_ptr<PgConn> conn) : pool_(pool), conn_(std::move(conn)) {}
  PgPool* pool_;
  std::unique_ptr<PgConn> conn_;
};

class PgPool {
 public:
  PgPool(std::string uri, int max_connections, std::chrono::milliseconds wait)
      : uri_(std::move(uri)), max_(max_connections), wait_(wait) {}

  Result<PooledPg> Acquire();

 private:
  friend class PooledPg;
  void Return(std::unique_ptr<PgConn> conn);

  const std::string uri_;
  const int max_;
  const std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PgConn>> idle_;  // guarded by mu_
  int open_ = 0;                               // connections out or idle; guarded by mu_
};

}  // namespace renderq

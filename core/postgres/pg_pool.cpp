#include "core/postgres/pg_pool.h"

namespace renderq {

PooledPg::~PooledPg() {
  if (pool_ != nullptr) pool_->Return(std::move(conn_));
}

Result<PooledPg> PgPool::Acquire() {
  {
    std::unique_lock lock(mu_);
    const bool free =
        returned_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < max_; });
    if (!free) {
      return Status::Unavailable("all " + std::to_string(max_) + " database connections are busy");
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConn> conn = std::move(idle_.back());
      idle_.pop_back();
      return PooledPg(this, std::move(conn));
    }
    ++open_;  // reserved while connecting, outside the lock
  }
  Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(uri_);
  if (!conn.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
    return conn.status();
  }
  return PooledPg(this, std::move(conn).value());
}

void PgPool::Return(std::unique_ptr<PgConn> conn) {
  std::vector<std::unique_ptr<PgConn>> stale;  // closed outside the lock
  {
    std::lock_guard lock(mu_);
    if (conn != nullptr && conn->Healthy() && !conn->InTransaction()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;  // dropped: the next Acquire connects afresh
      if (conn != nullptr && !conn->Healthy()) {
        // The server went away (a crash, a failover): the idle connections
        // lead to it too, and each would fail one request before being
        // dropped. They go now; the next requests connect to whichever
        // server the URI finds.
        open_ -= static_cast<int>(idle_.size());
        stale.swap(idle_);
      }
    }
    returned_.notify_all();
  }
}

}  // namespace renderq

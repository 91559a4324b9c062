#include "core/sqlite/sqlite_pool.h"

#include <utility>

namespace renderq {

PooledDb::~PooledDb() {
  // A connection left inside a transaction (a bug or a failed rollback) would
  // hold a snapshot forever; close it instead of pooling it.
  if (db_ != nullptr && !db_->InTransaction()) pool_->Return(std::move(db_));
}

Result<PooledDb> SqlitePool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<SqliteDb> db = std::move(idle_.back());
      idle_.pop_back();
      return PooledDb(this, std::move(db));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path_, options_));
  return PooledDb(this, std::move(db));
}

void SqlitePool::Return(std::unique_ptr<SqliteDb> db) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(db));
}

}  // namespace renderq

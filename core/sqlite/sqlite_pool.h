// A pool of connections to one database, one per thread at a time.
//
// Readers (and the worker's short write transactions) borrow a connection,
// use it and give it back, so each thread works on its own connection and the
// pool grows to the number of threads that ever ran at once.
// Thread safety: Acquire may be called from any thread; a PooledDb belongs to
// the thread that acquired it until it is destroyed. The pool must outlive
// every PooledDb it handed out.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/sqlite/sqlite_db.h"
#include "core/model/status.h"

namespace renderq {

class SqlitePool;

class PooledDb {
 public:
  PooledDb(PooledDb&&) noexcept = default;
  PooledDb& operator=(PooledDb&&) = delete;
  PooledDb(const PooledDb&) = delete;
  ~PooledDb();

  SqliteDb& operator*() const { return *db_; }
  SqliteDb* operator->() const { return db_.get(); }

 private:
  friend class SqlitePool;
  PooledDb(SqlitePool* pool, std::unique_ptr<SqliteDb> db) : pool_(pool), db_(std::move(db)) {}
  SqlitePool* pool_;
  std::unique_ptr<SqliteDb> db_;
};

class SqlitePool {
 public:
  SqlitePool(std::string path, SqliteOptions options) : path_(std::move(path)), options_(options) {}

  // An idle connection, or a new one.
  Result<PooledDb> Acquire();

 private:
  friend class PooledDb;
  void Return(std::unique_ptr<SqliteDb> db);

  const std::string path_;
  const SqliteOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_;  // guarded by mu_
};

}  // namespace renderq

#include "tests/core/store/test_database.h"

#include <boost/test/unit_test.hpp>

#include <cstring>

#include "core/sqlite/sqlite_db.h"
#include "core/sqlite/sqlite_maintenance.h"

namespace renderq::testing {
namespace {

class SqliteTestDatabase final : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string path) : path_(std::move(path)) {}
  const std::string& uri() const override { return path_; }

  Result<std::int64_t> QueryInt(const std::string& sql,
                                const std::vector<std::string>& params) override {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path_, SqliteOptions{}));
    ASSIGN_OR_RETURN(Statement q, db->Prepare(sql));
    for (std::size_t i = 0; i < params.size(); ++i) {
      q.BindOne(static_cast<int>(i + 1), params[i]);
    }
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::NotFound("no row");
    return q.Int(0);
  }

  Status Execute(const std::string& sql) override {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path_, SqliteOptions{}));
    return db->Exec(sql.c_str());
  }

  Result<std::vector<std::string>> IntegrityProblems() override {
    return CheckSqliteIntegrity(path_);
  }

 private:
  std::string path_;
};

}  // namespace

std::string_view TestBackendName() {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  for (int i = 1; i < suite.argc; ++i) {
    constexpr std::string_view kFlag = "--backend=";
    const std::string_view arg = suite.argv[i];
    if (arg.starts_with(kFlag)) return arg.substr(kFlag.size());
  }
  return "sqlite";
}

std::unique_ptr<TestDatabase> MakePostgresTestDatabase(const std::filesystem::path& dir);

std::unique_ptr<TestDatabase> NewTestDatabase(const std::filesystem::path& dir) {
#ifdef RENDERQ_HAVE_POSTGRES
  if (TestBackendName() == "postgres") return MakePostgresTestDatabase(dir);
#endif
  BOOST_REQUIRE_MESSAGE(TestBackendName() == "sqlite",
                        "unknown --backend=" << TestBackendName() << " (sqlite or postgres)");
  return std::make_unique<SqliteTestDatabase>((dir / "queue.db").string());
}

}  // namespace renderq::testing

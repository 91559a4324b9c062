// The PostgreSQL side of test_database.h: one private server per test process
// (scripts/pg-cluster, on 127.0.0.1 and a port picked here, fsync off), started
// by the first test that needs it and stopped when the process exits; a fresh
// database per test, dropped afterwards.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/postgres/pg_conn.h"
#include "tests/core/store/test_database.h"

namespace renderq::testing {
namespace {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A command's exit status and its whole output (stdout and whatever it sends
// to stderr with 2>&1), for messages.
struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult Run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) result.output += buffer;
  result.status = ::pclose(pipe);
  return result;
}

// pg-cluster prints the URI as its last line; notes before it go to stderr.
std::string LastLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const std::size_t start = text.rfind('\n');
  return start == std::string::npos ? text : text.substr(start + 1);
}

class Cluster {
 public:
  static Cluster& Get() {
    static Cluster cluster;
    return cluster;
  }
  ~Cluster() {
    if (owner_pid_ != ::getpid()) return;  // a forked child's copy
    std::system((script_ + " stop '" + dir_ + "' >/dev/null 2>&1").c_str());
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The URI of a new empty database.
  std::string NewDatabase() {
    const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(next_++);
    Admin("CREATE DATABASE " + name);
    return base_ + "/" + name + "?sslmode=disable";
  }
  void DropDatabase(const std::string& uri) {
    const std::size_t slash = uri.rfind('/');
    const std::string name = uri.substr(slash + 1, uri.find('?') - slash - 1);
    Admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

 private:
  Cluster() : owner_pid_(::getpid()) {
    script_ = std::string(RENDERQ_SOURCE_DIR) + "/scripts/pg-cluster";
    if (!std::filesystem::exists("/usr/lib/postgresql/15/bin/pg_ctl") &&
        std::getenv("RENDERQ_PG_BINDIR") == nullptr) {
      std::printf("skipped: no PostgreSQL 15 server (Debian package postgresql)\n");
      std::fflush(stdout);
      std::_Exit(77);
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "renderq-pg-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    const CommandResult started =
        Run(script_ + " start '" + dir_ + "' " + std::to_string(FreePort()) + " --fast 2>&1");
    const std::string uri = LastLine(started.output);
    BOOST_REQUIRE_MESSAGE(started.status == 0 && uri.starts_with("postgresql://"),
                          "pg-cluster start: " << started.output);
    base_ = uri.substr(0, uri.rfind('/'));
  }

  void Admin(const std::string& sql) {
    auto conn = PgConn::Connect(base_ + "/postgres?sslmode=disable");
    BOOST_REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
    auto done = (*conn)->Exec(sql);
    BOOST_REQUIRE_MESSAGE(done.ok(), done.status().ToString());
  }

  pid_t owner_pid_;
  std::string script_;
  std::string dir_;
  std::string base_;  // postgresql://postgres@127.0.0.1:PORT
  std::atomic<int> next_{0};
};

class PostgresTestDatabase final : public TestDatabase {
 public:
  PostgresTestDatabase() : uri_(Cluster::Get().NewDatabase()) {}
  ~PostgresTestDatabase() override { Cluster::Get().DropDatabase(uri_); }
  const std::string& uri() const override { return uri_; }

  Result<std::int64_t> QueryInt(const std::string& sql,
                                const std::vector<std::string>& params) override {
    ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(uri_));
    // The tests write SQLite's `?`; PostgreSQL numbers its parameters.
    std::string numbered;
    int n = 0;
    for (char c : sql) {
      if (c == '?') {
        numbered += "$" + std::to_string(++n);
      } else {
        numbered += c;
      }
    }
    PgParams bound;
    for (const std::string& p : params) bound.Add(p);
    ASSIGN_OR_RETURN(PgResult r, conn->Run(numbered, bound));
    if (r.rows() == 0) return Status::NotFound("no row");
    return r.Int(0, 0);
  }

  Status Execute(const std::string& sql) override {
    ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(uri_));
    return conn->Exec(sql).status();
  }

  // PostgreSQL keeps its pages consistent itself; what can be checked here is
  // that every succeeded job has its result and no row points nowhere.
  Result<std::vector<std::string>> IntegrityProblems() override {
    ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(uri_));
    ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT 'succeeded without result: ' || id FROM jobs j"
                                            " WHERE state = 'succeeded' AND NOT EXISTS"
                                            " (SELECT 1 FROM job_results r WHERE r.seq = j.seq)"));
    std::vector<std::string> problems;
    for (int i = 0; i < r.rows(); ++i) problems.push_back(r.Text(i, 0));
    return problems;
  }

 private:
  std::string uri_;
};

}  // namespace

std::unique_ptr<TestDatabase> MakePostgresTestDatabase(const std::filesystem::path&) {
  return std::make_unique<PostgresTestDatabase>();
}

}  // namespace renderq::testing

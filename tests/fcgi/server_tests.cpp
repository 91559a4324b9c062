// The renderq-fcgi binary itself: its socket's mode, the libfcgi loop (body
// reading, headers, HEAD), socket activation on fd 0, and a prompt clean exit
// on SIGTERM.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "core/store/open_job_store.h"
#include "tests/fcgi/api_fixture.h"
#include "tests/fcgi/fcgi_client.h"

extern char** environ;

namespace renderq::test {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kBinary = std::string(RENDERQ_BINARY_DIR) + "/bin/renderq-fcgi";

// A child process, SIGKILLed and reaped on destruction if still running.
class Child {
 public:
  // Runs kBinary with `args`; `stdin_fd` >= 0 becomes the child's fd 0.
  Child(const std::vector<std::string>& args, int stdin_fd = -1) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    const int rc = posix_spawn(&pid_, kBinary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    BOOST_TEST_REQUIRE(rc == 0, "posix_spawn " << kBinary << ": " << std::strerror(rc));
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void Signal(int signal) const { ::kill(pid_, signal); }

  // The exit status once the child exits within `timeout`; -1 if it does not.
  int WaitExit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

bool WaitUntilConnectable(const std::string& socket_path) {
  for (int i = 0; i < 500; ++i) {  // 5 s
    if (CanConnect(socket_path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// A database with a token, created before the server starts (as renderqctl would).
std::string PrepareDatabase(const std::string& db_path) {
  auto store = OpenJobStore(db_path, StoreOptions{});
  BOOST_TEST_REQUIRE(store.ok(), store.status().ToString());
  auto token = (*store)->CreateToken("alice");
  BOOST_TEST_REQUIRE(token.ok());
  return *token;
}

FcgiParams Params(const std::string& method, const std::string& uri, const std::string& token) {
  FcgiParams params = {
      {"REQUEST_METHOD", method},
      {"REQUEST_URI", uri},
      {"DOCUMENT_URI", uri.substr(0, uri.find('?'))},
      {"QUERY_STRING", uri.find('?') == std::string::npos ? "" : uri.substr(uri.find('?') + 1)},
      {"REMOTE_ADDR", "127.0.0.1"}};
  if (!token.empty()) params.emplace_back("HTTP_AUTHORIZATION", "Bearer " + token);
  return params;
}

FcgiParams PostParams(const std::string& token, std::size_t content_length) {
  FcgiParams params = Params("POST", "/api/v1/jobs", token);
  params.emplace_back("CONTENT_TYPE", "application/json");
  params.emplace_back("CONTENT_LENGTH", std::to_string(content_length));
  return params;
}

BOOST_AUTO_TEST_SUITE(FcgiBinary)

BOOST_AUTO_TEST_CASE(serves_on_a_0660_socket_and_stops_within_a_second) {
  const TempDir dir;
  const std::string db = dir.path() + "/queue.db";
  const std::string socket_path = dir.path() + "/fcgi.sock";
  const std::string token = PrepareDatabase(db);
  // Our own primary group stands in for nginx's: chgrp to it needs no privilege.
  const struct group* group = ::getgrgid(::getgid());
  BOOST_TEST_REQUIRE(group != nullptr);
  Child server({"--db", db, "--socket", socket_path, "--socket-group", group->gr_name, "--threads",
                "4", "--results", dir.path()});
  BOOST_TEST_REQUIRE(WaitUntilConnectable(socket_path));

  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(socket_path.c_str(), &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST((st.st_mode & 07777) == 0660u, "mode " << std::oct << (st.st_mode & 07777));
  BOOST_TEST(st.st_gid == ::getgid());

  const auto health = FcgiCall(socket_path, Params("GET", "/healthz", ""), "");
  BOOST_TEST_REQUIRE(health.has_value());
  BOOST_TEST(health->status == 200);
  BOOST_TEST(nlohmann::json::parse(health->body)["db"] == "ok");
  BOOST_TEST(health->Header("Content-Length") == std::to_string(health->body.size()));

  const auto head = FcgiCall(socket_path, Params("HEAD", "/healthz", ""), "");
  BOOST_TEST_REQUIRE(head.has_value());
  BOOST_TEST(head->status == 200);
  BOOST_TEST(head->body.empty());

  const std::string scene = ValidScene();
  const auto created = FcgiCall(socket_path, PostParams(token, scene.size()), scene);
  BOOST_TEST_REQUIRE(created.has_value());
  BOOST_TEST_REQUIRE(created->status == 201, created->head << "\n" << created->body);
  const std::string location = created->Header("Location");
  BOOST_TEST(location.starts_with("/api/v1/jobs/"));
  const auto got = FcgiCall(socket_path, Params("GET", location, token), "");
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(got->status == 200);

  const auto listed = FcgiCall(socket_path, Params("GET", "/api/v1/jobs?limit=1", token), "");
  BOOST_TEST_REQUIRE(listed.has_value());
  BOOST_TEST(listed->status == 200);
  BOOST_TEST(nlohmann::json::parse(listed->body)["jobs"].size() == 1u);

  // A body cut short of its CONTENT_LENGTH is a 400, not a hang.
  const auto short_body = FcgiCall(socket_path, PostParams(token, scene.size() + 100), scene);
  BOOST_TEST_REQUIRE(short_body.has_value());
  BOOST_TEST(short_body->status == 400);
  // Over 4 MiB is refused on the announced length alone.
  const auto too_large = FcgiCall(socket_path, PostParams(token, 5 * 1024 * 1024), "{}");
  BOOST_TEST_REQUIRE(too_large.has_value());
  BOOST_TEST(too_large->status == 413);

  const auto stop_started = Clock::now();
  server.Signal(SIGTERM);
  // Exit 0 means no request outlived the responder's own stop timeout (0.9 s:
  // past it, it exits 1); how long the exit takes on a loaded machine is not
  // the responder's to promise.
  const int status = server.WaitExit(std::chrono::seconds(30));
  const auto took = Clock::now() - stop_started;
  BOOST_TEST(status == 0);
  BOOST_TEST_MESSAGE(
      "stopped " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                 << " ms after SIGTERM");
  BOOST_TEST(!std::filesystem::exists(socket_path));
}

BOOST_AUTO_TEST_CASE(concurrent_submits_all_commit) {
  const TempDir dir;
  const std::string db = dir.path() + "/queue.db";
  const std::string socket_path = dir.path() + "/fcgi.sock";
  const std::string token = PrepareDatabase(db);
  Child server({"--db", db, "--socket", socket_path, "--threads", "4"});
  BOOST_TEST_REQUIRE(WaitUntilConnectable(socket_path));

  const std::string scene = ValidScene();
  constexpr int kClients = 6, kEach = 15;
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        const auto reply = FcgiCall(socket_path, PostParams(token, scene.size()), scene);
        if (reply && reply->status == 201) created.fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  BOOST_TEST(created.load() == kClients * kEach);
  const auto listed = FcgiCall(socket_path, Params("GET", "/api/v1/jobs?limit=100", token), "");
  BOOST_TEST_REQUIRE(listed.has_value());
  BOOST_TEST(nlohmann::json::parse(listed->body)["jobs"].size() ==
             static_cast<std::size_t>(kClients * kEach));
  server.Signal(SIGINT);
  BOOST_TEST(server.WaitExit(std::chrono::seconds(3)) == 0);
}

BOOST_AUTO_TEST_CASE(serves_the_socket_it_is_given_on_fd_0) {
  const TempDir dir;
  const std::string db = dir.path() + "/queue.db";
  const std::string socket_path = dir.path() + "/activated.sock";
  PrepareDatabase(db);
  // What systemd does for renderq-fcgi.socket with StandardInput=socket.
  const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  BOOST_TEST_REQUIRE(listener >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  BOOST_TEST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_TEST_REQUIRE(::listen(listener, 16) == 0);
  Child server({"--db", db, "--threads", "2"}, listener);
  ::close(listener);

  const auto health = FcgiCall(socket_path, Params("GET", "/healthz", ""), "");
  BOOST_TEST_REQUIRE(health.has_value());
  BOOST_TEST(health->status == 200);
  server.Signal(SIGTERM);
  BOOST_TEST(server.WaitExit(std::chrono::seconds(3)) == 0);
}

BOOST_AUTO_TEST_CASE(refuses_to_start_without_a_socket_or_a_database) {
  const TempDir dir;
  const int null_fd = ::open("/dev/null", O_RDONLY);
  Child no_socket({"--db", dir.path() + "/queue.db"}, null_fd);
  ::close(null_fd);
  BOOST_TEST(no_socket.WaitExit(std::chrono::seconds(5)) == 1);

  ::unsetenv("RENDERQ_DB");
  Child no_db({"--socket", dir.path() + "/s.sock"});
  BOOST_TEST(no_db.WaitExit(std::chrono::seconds(5)) == 2);
  Child bad_flag({"--threads", "0", "--db", "x"});
  BOOST_TEST(bad_flag.WaitExit(std::chrono::seconds(5)) == 2);
  Child unknown_group({"--db", dir.path() + "/queue.db", "--socket", dir.path() + "/s.sock",
                       "--socket-group", "no-such-group-renderq"});
  BOOST_TEST(unknown_group.WaitExit(std::chrono::seconds(5)) == 1);
  Child help({"--help"});
  BOOST_TEST(help.WaitExit(std::chrono::seconds(5)) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::test

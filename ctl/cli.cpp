#include "ctl/cli.h"

#include <algorithm>
#include <array>
#include <exception>
#include <filesystem>
#include <sstream>
#include <string_view>

#include "core/util/program_options.h"

namespace renderq {
namespace {

namespace po = boost::program_options;

struct CommandSpec {
  std::string_view name;
  int positional;          // exact number of arguments
  std::string_view usage;  // after the name
  std::string_view summary;
};

constexpr std::array<CommandSpec, 13> kCommands = {{
    {"init", 0, "", "create the database or migrate it to the current schema"},
    {"status", 0, "", "queue depth, running jobs, workers, estimated wait"},
    {"jobs", 0, "[--state S] [--limit N]", "jobs of every owner, newest first (default 20)"},
    {"show", 1, "ID", "one job"},
    {"cancel", 1, "ID", "cancel a queued job, or ask the worker to stop a running one"},
    {"retry", 1, "ID", "put a failed or canceled job back in the queue"},
    {"purge", 0, "--older-than AGE",
     "delete finished jobs (and their images) older than AGE, e.g. 7d"},
    {"backup", 1, "FILE", "online, consistent copy of the database to FILE (must not exist)"},
    {"check", 0, "", "integrity check, orphan and missing result files"},
    {"token create", 1, "NAME", "create an owner NAME and print its token (shown only once)"},
    {"token list", 0, "", "owners and their tokens' state (never the tokens)"},
    {"token revoke", 1, "NAME", "revoke NAME's token"},
    {"token rotate", 1, "NAME", "revoke NAME's token and print a new one for the same owner"},
}};

po::options_description Options() {
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("db", po::value<std::string>(),
                                                    "database file (default: $RENDERQ_DB)")(
      "results", po::value<std::string>(),
      "result image directory: a SQLite queue's files, or a web host's copies of a\nPostgreSQL queue's results (default: $RENDERQ_RESULTS, else results/ beside a\nSQLite database, none for PostgreSQL)")(
      "json", "machine-readable output on stdout")(
      "state", po::value<std::string>(), "jobs: queued|running|succeeded|failed|canceled")(
      "limit", po::value<int>(), "jobs: how many (1..10000, default 20)")(
      "older-than", po::value<std::string>(), "purge: age such as 7d, 12h, 30m");
  return options;
}

const CommandSpec* FindCommand(const std::vector<std::string>& words, std::size_t* used) {
  for (const CommandSpec& spec : kCommands) {
    const bool two_words = spec.name.find(' ') != std::string_view::npos;
    if (two_words && words.size() >= 2 && spec.name == words[0] + " " + words[1]) {
      *used = 2;
      return &spec;
    }
    if (!two_words && !words.empty() && spec.name == words[0]) {
      *used = 1;
      return &spec;
    }
  }
  return nullptr;
}

Status CheckOptionsBelong(const po::variables_map& vm, const std::string& command) {
  const std::array<std::pair<std::string_view, std::string_view>, 3> owners = {
      {{"state", "jobs"}, {"limit", "jobs"}, {"older-than", "purge"}}};
  for (const auto& [option, owner] : owners) {
    if (vm.count(std::string(option)) && command != owner) {
      return Status::InvalidArgument("--" + std::string(option) + " belongs to '" +
                                     std::string(owner) + "', not '" + command + "'");
    }
  }
  return Status::Ok();
}

Status FillCommand(const po::variables_map& vm, const std::vector<std::string>& words,
                   Invocation* inv) {
  std::size_t used = 0;
  const CommandSpec* spec = FindCommand(words, &used);
  if (spec == nullptr) {
    return Status::InvalidArgument(words.empty() ? "no command given"
                                                 : "unknown command '" + words[0] + "'");
  }
  inv->command = std::string(spec->name);
  inv->args.assign(words.begin() + static_cast<std::ptrdiff_t>(used), words.end());
  if (static_cast<int>(inv->args.size()) != spec->positional) {
    return Status::InvalidArgument("usage: renderqctl " + inv->command + " " +
                                   std::string(spec->usage));
  }
  RETURN_IF_ERROR(CheckOptionsBelong(vm, inv->command));
  if (vm.count("state")) inv->state = vm["state"].as<std::string>();
  if (vm.count("limit")) inv->limit = vm["limit"].as<int>();
  if (inv->limit < 1 || inv->limit > 10000) {
    return Status::InvalidArgument("--limit must be in 1..10000");
  }
  if (vm.count("older-than")) inv->older_than = vm["older-than"].as<std::string>();
  if (inv->command == "purge" && !inv->older_than) {
    return Status::InvalidArgument("purge needs --older-than AGE (e.g. 7d)");
  }
  return Status::Ok();
}

Status FillPaths(const po::variables_map& vm, const char* env_db, const char* env_results,
                 Invocation* inv) {
  if (vm.count("db")) {
    inv->db = vm["db"].as<std::string>();
  } else if (env_db != nullptr && *env_db != '\0') {
    inv->db = env_db;
  } else {
    return Status::InvalidArgument("no database: give --db FILE or set RENDERQ_DB");
  }
  if (vm.count("results")) {
    inv->results_dir = vm["results"].as<std::string>();
  } else if (env_results != nullptr && *env_results != '\0') {
    inv->results_dir = env_results;
  }
  return Status::Ok();
}

}  // namespace

Result<Invocation> ParseCommandLine(const std::vector<std::string>& argv, const char* env_db,
                                    const char* env_results) {
  po::options_description all = Options();
  all.add_options()("words", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("words", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(e.what());
  }
  Invocation inv;
  inv.help = vm.count("help") > 0;
  inv.json = vm.count("json") > 0;
  if (inv.help) return inv;
  const auto words =
      vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
  RETURN_IF_ERROR(FillCommand(vm, words, &inv));
  RETURN_IF_ERROR(FillPaths(vm, env_db, env_results, &inv));
  return inv;
}

std::string HelpText() {
  std::ostringstream out;
  out << "usage: renderqctl [--db FILE] [--results DIR] [--json] COMMAND [ARGS]\n\n"
         "Administers a renderq queue database (SQLite, safe to use while the\n"
         "responder and workers run).\n\nCommands:\n";
  for (const CommandSpec& spec : kCommands) {
    std::string head = std::string(spec.name) + " " + std::string(spec.usage);
    head.resize(std::max<std::size_t>(head.size() + 1, 38), ' ');
    out << "  " << head << spec.summary << "\n";
  }
  out << "\n"
      << Options() << "\n"
      << "Exit codes:\n"
         "  0  ok\n"
         "  1  error (database or file system)\n"
         "  2  usage (bad command line, no database given)\n"
         "  3  not found (no such job, or no active token of that name)\n"
         "  4  conflict (e.g. cancel a finished job, retry a queued one, token name taken)\n"
         "  5  check found problems\n";
  return out.str();
}

}  // namespace renderq

#include "ctl/commands.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/kind_paths.h"
#include "core/store/open_job_store.h"
#include "ctl/duration.h"
#include "ctl/output.h"

namespace renderq {
namespace {

using nlohmann::json;

OutputFormat Format(const CommandContext& ctx) {
  return ctx.invocation.json ? OutputFormat::kJson : OutputFormat::kText;
}

const std::string& Arg(const CommandContext& ctx) { return ctx.invocation.args.at(0); }

// Prints a one-line confirmation, or {"ok": true, ...} with --json.
void Done(const CommandContext& ctx, const std::string& text, json fields = json::object()) {
  if (ctx.invocation.json) {
    fields["ok"] = true;
    ctx.out << fields.dump() << "\n";
  } else {
    ctx.out << text << "\n";
  }
}

int Init(const CommandContext& ctx) {
  Done(ctx, "database ready: " + ctx.invocation.db, {{"db", ctx.invocation.db}});
  return kExitOk;
}

int Status_(const CommandContext& ctx) {
  auto queue = ctx.store.Queue();
  if (!queue.ok()) return Fail(ctx.err, "status", queue.status());
  PrintQueue(*queue, Format(ctx), ctx.out);
  return kExitOk;
}

int Jobs(const CommandContext& ctx) {
  ListRequest request;
  request.owner_id = 0;  // every owner
  if (ctx.invocation.state) {
    request.state = ParseJobState(*ctx.invocation.state);
    if (!request.state) {
      return Fail(ctx.err, "jobs",
                  Status::InvalidArgument("unknown state '" + *ctx.invocation.state + "'"));
    }
  }
  std::vector<Job> jobs;
  const auto wanted = static_cast<std::size_t>(ctx.invocation.limit);
  while (jobs.size() < wanted) {  // pages of at most 100, as the store serves them
    request.limit = static_cast<int>(std::min<std::size_t>(100, wanted - jobs.size()));
    auto page = ctx.store.List(request);
    if (!page.ok()) return Fail(ctx.err, "jobs", page.status());
    jobs.insert(jobs.end(), page->jobs.begin(), page->jobs.end());
    if (!page->next_before_seq) break;
    request.before_seq = page->next_before_seq;
  }
  PrintJobs(jobs, Format(ctx), ctx.out);
  return kExitOk;
}

int Show(const CommandContext& ctx) {
  auto job = ctx.store.Get(/*owner_id=*/0, Arg(ctx));
  if (!job.ok()) return Fail(ctx.err, "show " + Arg(ctx), job.status());
  PrintJob(*job, Format(ctx), ctx.out);
  return kExitOk;
}

int Cancel(const CommandContext& ctx) {
  auto outcome = ctx.store.Cancel(/*owner_id=*/0, Arg(ctx));
  if (!outcome.ok()) return Fail(ctx.err, "cancel " + Arg(ctx), outcome.status());
  if (outcome->kind == CancelOutcome::Kind::kAlreadyTerminal) {
    return Fail(
        ctx.err, "cancel " + Arg(ctx),
        Status::Conflict(std::string("job is already ") + JobStateName(outcome->job.state)));
  }
  if (ctx.invocation.json) {
    PrintJob(outcome->job, OutputFormat::kJson, ctx.out);
  } else if (outcome->kind == CancelOutcome::Kind::kCanceled) {
    ctx.out << "canceled " << Arg(ctx) << "\n";
  } else {
    ctx.out << "cancel requested for running job " << Arg(ctx) << "\n";
  }
  return kExitOk;
}

int Retry(const CommandContext& ctx) {
  auto job = ctx.store.Retry(Arg(ctx));
  if (!job.ok()) return Fail(ctx.err, "retry " + Arg(ctx), job.status());
  if (ctx.invocation.json) {
    PrintJob(*job, OutputFormat::kJson, ctx.out);
  } else {
    ctx.out << "requeued " << Arg(ctx) << "\n";
  }
  return kExitOk;
}

int Purge(const CommandContext& ctx) {
  auto age = ParseDuration(*ctx.invocation.older_than);
  if (!age.ok()) return Fail(ctx.err, "purge", age.status());
  const TimeMs cutoff = ctx.clock.NowMs() - *age;
  auto purged = ctx.store.Purge(cutoff);
  if (!purged.ok()) return Fail(ctx.err, "purge", purged.status());
  const int files = purged->files_removed;
  Done(ctx,
       "purged " + std::to_string(purged->job_ids.size()) + " jobs, " + std::to_string(files) +
           " result files",
       {{"jobs", purged->job_ids.size()}, {"files", files}});
  return kExitOk;
}

int Backup(const CommandContext& ctx) {
  const Status s = ctx.store.Backup(Arg(ctx));
  if (!s.ok()) return Fail(ctx.err, "backup", s);
  Done(ctx, "backup written to " + Arg(ctx), {{"file", Arg(ctx)}});
  return kExitOk;
}

int Check(const CommandContext& ctx) {
  auto checked = ctx.store.Check();
  if (!checked.ok()) return Fail(ctx.err, "check", checked.status());
  const CheckReport& report = *checked;
  if (ctx.invocation.json) {
    ctx.out << json{{"ok", report.clean()},
                    {"integrity", report.integrity_problems},
                    {"orphan_files", report.orphan_files},
                    {"missing_results", report.missing_results}}
                   .dump()
            << "\n";
  } else {
    ctx.out << "integrity: "
            << (!report.integrity_checked ? "not checked here (PostgreSQL: data checksums, amcheck)"
                : report.integrity_problems.empty() ? "ok"
                                                    : "FAILED")
            << "\n";
    for (const std::string& line : report.integrity_problems) ctx.out << "  " << line << "\n";
    if (report.files_checked) {
      ctx.out << "orphan result files: " << report.orphan_files.size() << "\n";
      for (const std::string& path : report.orphan_files) ctx.out << "  " << path << "\n";
    }
    ctx.out << "succeeded jobs without a result" << (report.files_checked ? " file" : "") << ": "
            << report.missing_results.size() << "\n";
    for (const std::string& id : report.missing_results) ctx.out << "  " << id << "\n";
  }
  return report.clean() ? kExitOk : kExitCheckFailed;
}

// Prints a token that was just made; it is shown this once and never again.
void PrintNewToken(const CommandContext& ctx, const std::string& token, const char* what) {
  if (ctx.invocation.json) {
    ctx.out << json{{"name", Arg(ctx)}, {"token", token}}.dump() << "\n";
  } else {
    // The token alone on stdout, so TOKEN=$(renderqctl token create NAME) works.
    ctx.out << token << "\n";
    ctx.err << "token for '" << Arg(ctx) << "' " << what << "; it is not stored and cannot be "
            << "shown again\n";
  }
}

int TokenCreate(const CommandContext& ctx) {
  auto token = ctx.store.CreateToken(Arg(ctx));
  if (!token.ok()) return Fail(ctx.err, "token create " + Arg(ctx), token.status());
  PrintNewToken(ctx, *token, "created");
  return kExitOk;
}

int TokenRotate(const CommandContext& ctx) {
  auto token = ctx.store.RotateToken(Arg(ctx));
  if (!token.ok()) return Fail(ctx.err, "token rotate " + Arg(ctx), token.status());
  PrintNewToken(ctx, *token, "rotated (the old one no longer works)");
  return kExitOk;
}

int TokenList(const CommandContext& ctx) {
  auto tokens = ctx.store.ListTokens();
  if (!tokens.ok()) return Fail(ctx.err, "token list", tokens.status());
  PrintTokens(*tokens, Format(ctx), ctx.out);
  return kExitOk;
}

int TokenRevoke(const CommandContext& ctx) {
  const Status s = ctx.store.RevokeToken(Arg(ctx));
  if (!s.ok()) return Fail(ctx.err, "token revoke " + Arg(ctx), s);
  Done(ctx, "revoked " + Arg(ctx), {{"name", Arg(ctx)}});
  return kExitOk;
}

}  // namespace

// The kinds directory the programs read, as renderqctl was told.
std::string KindsDir(const Invocation& inv) {
  return ChooseDir(inv.kinds_dir, "RENDERQ_KINDS_DIR", InstalledKindsDir());
}

bool KindsDirNamed(const Invocation& inv) {
  return inv.kinds_dir || std::getenv("RENDERQ_KINDS_DIR") != nullptr;
}

int Kinds(const CommandContext& ctx) {
  const std::string dir = KindsDir(ctx.invocation);
  auto kinds = LoadKindsFrom(dir, KindsDirNamed(ctx.invocation));
  if (!kinds.ok()) return Fail(ctx.err, "kinds", kinds.status());
  json list = json::array();
  for (const KindSpec& kind : *kinds) {
    auto measured = ctx.store.KindRunSeconds(kind.name);
    if (!measured.ok()) return Fail(ctx.err, "kinds", measured.status());
    list.push_back({{"name", kind.name},
                    {"description", kind.description},
                    {"warm", kind.warm},
                    {"output_media_type", kind.output_media_type},
                    {"estimate_seconds", kind.estimate_seconds},
                    {"mean_run_seconds", measured->has_value() ? json(**measured) : json()},
                    {"max_seconds", kind.max_seconds},
                    {"file", kind.file}});
  }
  if (ctx.invocation.json) {
    ctx.out << json{{"kinds_dir", dir}, {"kinds", list}}.dump() << "\n";
    return kExitOk;
  }
  PrintKinds(dir, list, ctx.out);
  return kExitOk;
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kNotFound: return kExitNotFound;
    case StatusCode::kConflict: return kExitConflict;
    default: return kExitError;
  }
}

int Fail(std::ostream& err, const std::string& context, const Status& status) {
  err << "renderqctl: " << context << ": " << status.message() << "\n";
  return ExitCodeFor(status);
}

int RunCommand(const CommandContext& ctx) {
  static const std::map<std::string, std::function<int(const CommandContext&)>> kHandlers = {
      {"init", Init},
      {"status", Status_},
      {"jobs", Jobs},
      {"show", Show},
      {"cancel", Cancel},
      {"retry", Retry},
      {"purge", Purge},
      {"backup", Backup},
      {"check", Check},
      {"token create", TokenCreate},
      {"token list", TokenList},
      {"token revoke", TokenRevoke},
      {"token rotate", TokenRotate},
      {"kinds", Kinds},
  };
  const auto it = kHandlers.find(ctx.invocation.command);
  if (it == kHandlers.end()) {
    return Fail(ctx.err, ctx.invocation.command, Status::InvalidArgument("unknown command"));
  }
  return it->second(ctx);
}

int KindsCheck(const Invocation& inv, std::ostream& out, std::ostream& err) {
  const std::string dir = KindsDir(inv);
  const std::string runners =
      ChooseDir(inv.runners_dir, "RENDERQ_RUNNERS_DIR", InstalledRunnersDir());
  auto kinds = LoadKindsFrom(dir, /*named=*/true);
  std::vector<std::string> problems;
  if (!kinds.ok()) {
    if (kinds.status().code() == StatusCode::kNotFound) {
      return Fail(err, "kinds check", kinds.status());
    }
    std::string lines = kinds.status().message();
    for (std::size_t at = 0; at <= lines.size();) {
      std::size_t end = lines.find('\n', at);
      if (end == std::string::npos) end = lines.size();
      problems.push_back(lines.substr(at, end - at));
      at = end + 1;
    }
  }
  std::vector<std::string> names;
  if (kinds.ok()) {
    // What the worker will run on this host: the program and every path that
    // names the runners directory must be there.
    for (const KindSpec& kind : *kinds) {
      names.push_back(kind.name);
      const std::vector<std::string> argv = ResolveCommand(kind.command, runners);
      if (::access(argv[0].c_str(), X_OK) != 0) {
        problems.push_back(kind.file + ": command: " + argv[0] +
                           " is not an executable file on this host");
      }
      for (std::size_t i = 0; i < kind.command.size(); ++i) {
        if (kind.command[i].find(kRunnersDirPlaceholder) == std::string::npos) continue;
        if (!std::filesystem::exists(argv[i])) {
          problems.push_back(kind.file + ": command: " + argv[i] + " does not exist (" +
                             std::string(kRunnersDirPlaceholder) + " is " + runners + ")");
        }
      }
    }
  }
  if (inv.json) {
    out << json{{"ok", problems.empty()},
                {"kinds_dir", dir},
                {"runners_dir", runners},
                {"kinds", names},
                {"problems", problems}}
               .dump()
        << "\n";
  } else {
    for (const std::string& problem : problems) err << "renderqctl: " << problem << "\n";
    if (problems.empty()) {
      std::string list;
      for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
      out << "ok: " << names.size() << (names.size() == 1 ? " kind" : " kinds") << " in " << dir
          << (names.empty() ? "" : ": " + list) << "\n";
    }
  }
  return problems.empty() ? kExitOk : kExitCheckFailed;
}

}  // namespace renderq

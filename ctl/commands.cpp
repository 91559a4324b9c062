#include "ctl/commands.h"

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

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
            << (!report.integrity_checked
                    ? "not checked here (PostgreSQL: data checksums, amcheck)"
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
  };
  const auto it = kHandlers.find(ctx.invocation.command);
  if (it == kHandlers.end()) {
    return Fail(ctx.err, ctx.invocation.command, Status::InvalidArgument("unknown command"));
  }
  return it->second(ctx);
}

}  // namespace renderq

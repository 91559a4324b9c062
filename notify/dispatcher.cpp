#include "notify/dispatcher.h"

#include <algorithm>
#include <iterator>

namespace renderq::notify {

namespace {

constexpr std::size_t kBatch = 500;
constexpr TimeMs kRetryMs = 1'000;
constexpr TimeMs kMaxWaitMs = 1'000;  // the feed's wake-up is a hint: look at least this often
// After a wake-up that found nothing: look again after these waits.
constexpr TimeMs kRecheckMs[] = {2, 5, 10, 20, 40};

}  // namespace

Dispatcher::Dispatcher(LiveFeed* feed, LiveHub* hub, DeliveryEngine* engine, HookServer* hooks,
                       const Clock* clock, Log log)
    : feed_(feed), hub_(hub), engine_(engine), hooks_(hooks), clock_(clock), log_(std::move(log)) {
  if (!log_) log_ = [](std::string_view) {};
}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  if (hooks_ != nullptr) hooks_->Start();
  if (engine_ != nullptr) {
    webhooks_ = std::thread([this] {
      if (Status s = engine_->Run(); !s.ok()) log_("webhook deliveries stopped: " + s.ToString());
    });
  }
  live_ = std::thread([this] { LiveLoop(); });
}

void Dispatcher::Stop() {
  stop_ = true;
  if (engine_ != nullptr) engine_->Stop();
  if (live_.joinable()) live_.join();
  if (webhooks_.joinable()) webhooks_.join();
  if (hooks_ != nullptr) hooks_->Stop();
}

// Takes the active jobs' states from the database: at start, and after the
// feed failed (events may have been missed while it was down).
bool Dispatcher::Resume() {
  auto snapshot = feed_->Snapshot();
  if (!snapshot.ok()) {
    log_("cannot read the jobs' states: " + snapshot.status().ToString() + "; trying again");
    return false;
  }
  hub_->Start(snapshot->states);
  position_ = snapshot->position;
  started_feed_ = true;
  return true;
}

void Dispatcher::LiveLoop() {
  bool woken = false;
  std::size_t recheck = 0;
  while (!stop_) {
    if (!started_feed_ && !Resume()) {
      feed_->WaitForChange(kRetryMs);
      continue;
    }
    feed_->PrepareWait();
    auto events = feed_->ReadAfter(position_, kBatch);
    if (!events.ok()) {
      log_("cannot read events: " + events.status().ToString() + "; trying again");
      started_feed_ = false;
      feed_->WaitForChange(kRetryMs);
      continue;
    }
    for (const LiveEvent& e : *events) {
      hub_->OnEvent(e);
      position_ = e.seq;
    }
    // New events may come with new webhook deliveries, committed with them.
    if (!events->empty() && engine_ != nullptr) engine_->Wake();
    hub_->Tick();
    if (events->size() == kBatch) continue;
    TimeMs wait = std::clamp<TimeMs>(hub_->NextTickAt() - clock_->NowMs(), 0, kMaxWaitMs);
    // A wake-up that found nothing may have come early: SQLite's WAL is
    // written (and inotify fires) before the commit is synced and visible.
    // Look again soon, a few times, before waiting long.
    if (events->empty() && woken && recheck < std::size(kRecheckMs)) {
      wait = std::min(wait, kRecheckMs[recheck++]);
    } else if (!events->empty() || !woken) {
      recheck = 0;
    }
    const TimeMs before = clock_->NowMs();
    feed_->WaitForChange(wait);
    woken = clock_->NowMs() - before < wait;
  }
}

}  // namespace renderq::notify

// Logger: the worker's event log, one line per event, on stderr or a file.
//
//   2026-11-21T22:30:00.123Z renderq-worker[cpu] claimed job=3f1c... attempt=1
//
// Each line is written with a single write(2) on an O_APPEND descriptor, so
// lines from several threads or processes never interleave. Reopen() (on
// SIGHUP) opens the file again by name, for logrotate's move-then-signal.
//
// Thread-safe. Logging never fails the caller: write errors are dropped.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "core/model/status.h"

namespace renderq {

class Logger {
 public:
  // Logs to stderr until Open() names a file.
  explicit Logger(std::string worker_name);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  Status Open(const std::string& path);  // kUnavailable if it cannot be opened
  Status Reopen();                       // no-op on stderr

  // `event` is one word ("claimed"); `job_id` may be empty; `detail` is
  // free text, usually key=value pairs. Newlines in it become spaces.
  void Log(std::string_view event, std::string_view job_id, std::string_view detail = {});

 private:
  const std::string worker_name_;
  std::mutex mu_;
  std::string path_;  // "" = stderr
  int fd_ = 2;
};

}  // namespace renderq

// The files a runner names in its messages (SPEC: "Every FILE is a name
// inside DIR"), read so that nothing outside the job's directory is ever
// opened: component by component from the directory's descriptor, no link
// followed, no FIFO or device opened for reading, the size bounded before a
// byte is read.
//
// Errors are kInvalidArgument with a reason for the job's `runner_file`
// failure ("out.png: a symbolic link"), or kUnavailable for I/O trouble.
// Thread-compatible; no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/model/status.h"

namespace renderq {

// Whether `file` may name a FILE at all: a relative path without empty, "."
// or ".." components, without NUL, at most 4096 bytes.
bool IsPlausibleRunnerFile(std::string_view file);

// The bytes of regular file `file` below the directory `dir_fd`, at most
// `max_bytes` of them.
Result<std::string> ReadRunnerFile(int dir_fd, std::string_view file, std::uint64_t max_bytes);

}  // namespace renderq

// Random identifiers from the OS random source (getrandom(2)).
#pragma once

#include <cstddef>
#include <string>

#include "core/model/status.h"

namespace renderq {

// Fills `out` with `size` bytes from getrandom(2); kUnavailable if the kernel
// cannot supply them (it blocks only before the entropy pool is first ready).
Status RandomBytes(void* out, std::size_t size);

// A random (version 4) UUID: lowercase, hyphenated, 36 characters.
Result<std::string> NewUuidV4();

}  // namespace renderq

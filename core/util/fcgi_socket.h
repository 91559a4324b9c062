// A unix socket for a FastCGI server (renderq-fcgi's API, renderq-notify's
// stream hooks), reachable only by its owner and one group from the start.
#pragma once

#include <string>

#include "core/model/status.h"

namespace renderq {

// Listens on `path` with mode 0660 (group `group` unless empty): created with
// the mode's complement as umask, so nobody else can connect even between
// bind() and chmod(). Debian's libfcgi still aborts on some crafted records:
// no one but nginx's group may reach such a socket.
Result<int> ListenFcgiUnixSocket(const std::string& path, const std::string& group);

}  // namespace renderq

#include "core/util/fcgi_socket.h"

#include <fcgiapp.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace renderq {
namespace {

constexpr int kListenBacklog = 1024;

}  // namespace

Result<int> ListenFcgiUnixSocket(const std::string& path, const std::string& group) {
  std::optional<gid_t> gid;
  if (!group.empty()) {
    const struct group* g = ::getgrnam(group.c_str());
    if (g == nullptr) return Status::InvalidArgument("unknown group '" + group + "'");
    gid = g->gr_gid;
  }
  const mode_t old_umask = ::umask(0117);
  const int fd = FCGX_OpenSocket(path.c_str(), kListenBacklog);
  ::umask(old_umask);
  if (fd < 0) return Status::Unavailable("cannot listen on " + path + ": " + std::strerror(errno));
  if (::chmod(path.c_str(), 0660) != 0 ||
      (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0)) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Status::Unavailable("cannot set mode or group of " + path + ": " + why);
  }
  return fd;
}

}  // namespace renderq

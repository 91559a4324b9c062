// Where live events go: nchan channels in nginx (nchan_publisher.h), or
// anything that keeps what it is given in order.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace renderq::notify {

class ChannelPublisher {
 public:
  virtual ~ChannelPublisher() = default;
  // Appends `message` to `channel`: every stream on it gets it now; with
  // keep > 0 the channel also stores the last `keep` messages for
  // subscribers that arrive later (within nginx's message timeout).
  virtual Status Publish(const std::string& channel, std::string_view message, int keep) = 0;
  // Deletes `channel`: every stream reading it ends.
  virtual Status Delete(const std::string& channel) = 0;
};

}  // namespace renderq::notify

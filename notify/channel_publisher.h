// Where live events go: nchan channels in nginx (nchan_publisher.h), or
// anything that keeps what it is given in order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model/status.h"

namespace renderq::notify {

class ChannelPublisher {
 public:
  virtual ~ChannelPublisher() = default;
  // Sends `message` to the current subscribers of each of `channels`, in
  // order on each channel; nothing is kept for later subscribers.
  virtual Status Publish(const std::vector<std::string>& channels, std::string_view message) = 0;
  // Deletes `channels`: every stream reading one of them ends.
  virtual Status Delete(const std::vector<std::string>& channels) = 0;
};

}  // namespace renderq::notify

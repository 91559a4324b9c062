// Publishes to nchan channels through nginx's publisher location, reached
// on a unix socket that only the dispatcher may open (nginx/renderq.conf.in:
// `location /pub/`): POST appends a message, DELETE removes channels and
// ends their streams; several channels go in one request, their names joined
// by commas (nchan_channel_id_split_delimiter). One kept-alive connection;
// not thread-safe (LiveHub calls it under its mutex).
#pragma once

#include <string>

#include "notify/channel_publisher.h"

namespace renderq::notify {

class NchanPublisher final : public ChannelPublisher {
 public:
  explicit NchanPublisher(std::string socket_path);
  ~NchanPublisher() override;
  NchanPublisher(const NchanPublisher&) = delete;
  NchanPublisher& operator=(const NchanPublisher&) = delete;

  Status Publish(const std::vector<std::string>& channels, std::string_view message) override;
  Status Delete(const std::vector<std::string>& channels) override;

 private:
  Status Send(const char* method, const std::vector<std::string>& channels, std::string_view body);

  std::string socket_path_;
  void* easy_ = nullptr;  // CURL*
};

}  // namespace renderq::notify

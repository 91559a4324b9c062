// The names of nchan channels, shared by the responder (which chooses the
// channel a subscriber may read, after checking its token) and the
// dispatcher (which publishes). They never reach a client: nginx reaches the
// subscriber location only through the responder's X-Accel-Redirect, and the
// publisher location only through a unix socket.
//
//   j.<job id>     one job's state and progress events; deleted after its
//                  terminal state, which ends every stream on it
//   o.<owner id>   every job of one owner
//   s.<sid>        one subscriber's own channel: its first `state` events
//   k              keep-alive comments for every stream
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace renderq::notify {

inline constexpr std::string_view kKeepAliveChannel = "k";

std::string JobChannel(std::string_view job_id);
std::string OwnerChannel(std::int64_t owner_id);
std::string SubscriberChannel(std::string_view sid);

// A fresh subscriber id: 128 random bits, 32 lowercase hex digits.
std::string NewSubscriberId();

// The channel names an nginx hook names, checked: nullopt unless `name` is a
// job or owner channel with a well-formed key.
std::optional<std::string> StreamChannel(std::string_view name);
// The sid of "s.<sid>", nullopt unless well formed.
std::optional<std::string> SubscriberIdOf(std::string_view channel);

}  // namespace renderq::notify

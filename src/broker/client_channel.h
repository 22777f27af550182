// One client connection as a producer or consumer group knows it (RocketMQ's ClientChannelInfo).
#pragma once

#include <cstdint>
#include <string>

#include "ramjet/protocol/bodies.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::broker {

struct ClientChannel {
  remoting::ConnectionPtr conn;
  std::string client_id;
  protocol::LanguageCode language = protocol::LanguageCode::kJava;
  int32_t version = 0;
  int64_t last_update_ms = 0;
};

}  // namespace ramjet::broker

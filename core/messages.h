// What the server thread and the shards tell each other (see mailbox.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/listeners.h"

namespace ringmx::core {

struct ShardMessage {
  enum class Kind {
    reload,         // accept on `listeners` from now on; close own sockets not in it
    drain,          // stop accepting, finish sessions, stop
    reload_result,  // answer the POST /reload of connection `slot`/`generation`
  };
  Kind kind = Kind::drain;
  std::shared_ptr<const ListenerSet> listeners;  // reload only
  // reload_result only.
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  bool ok = false;
  std::string errors = {};
};

struct ServerEvent {
  enum class Kind {
    ready,     // every socket of the shard accepts
    reloaded,  // the shard switched to the new listener set
    stopped,   // the shard drained and its loop ended; `text` carries its counters
    failed,    // the shard could not start; `text` says why
  };
  Kind kind = Kind::ready;
  unsigned shard = 0;
  std::string text;
};

}  // namespace ringmx::core

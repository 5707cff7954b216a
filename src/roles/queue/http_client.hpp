#pragma once
// QueueClient over the internal API, for roles in another process (or --force-remote).

#include <memory>

#include "roles/queue/client.hpp"
#include "runtime/rpc.hpp"

namespace tacos::queue {

std::shared_ptr<QueueClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel);

}  // namespace tacos::queue

#pragma once
// InventoryClient over the internal API, for roles in another process (or --force-remote).

#include <memory>

#include "roles/inventory/client.hpp"
#include "runtime/rpc.hpp"

namespace tacos::inventory {

std::shared_ptr<InventoryClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel);

}  // namespace tacos::inventory

#pragma once
// The inventory role's internal API: InventoryClient's calls for roles in other processes.

#include "net/router.hpp"
#include "roles/inventory/client.hpp"

namespace tacos::inventory {

/// POST /internal/v1/inventory/{event-info, event-counts, queue-settings, hold, undo-hold,
/// changed}, answered by `local` (the role's own client).
void add_internal_routes(net::Routes& internal, InventoryClient& local);

}  // namespace tacos::inventory

#pragma once
// The organiser's per-event numbers in one call: seats (free, held, sold), the waiting room, what
// became of the reservations and payments, and sales per minute. Admin only (the authentication
// middleware guards every /api/v1/admin/ path). The seats come from the inventory role and the
// waiting room from the queue role, through their clients.

#include "common/clock.hpp"
#include "net/blocking_pool.hpp"
#include "net/router.hpp"
#include "roles/inventory/client.hpp"
#include "roles/queue/client.hpp"
#include "store/ledger.hpp"

namespace tacos::reservation {

/// `GET /api/v1/admin/events/{id}/stats`.
void add_stats_route(net::Routes& router, inventory::InventoryClient& inventory, queue::QueueClient& queue,
                     store::Ledger& ledger, const Clock& clock, net::BlockingPool* reads);

}  // namespace tacos::reservation

#pragma once
// The organiser's per-event numbers in one call: seats (free, held, sold), the waiting room, what
// became of the reservations and payments, and sales per minute. Admin only (the authentication
// middleware guards every /api/v1/admin/ path). It reads from the inventory and queue roles, so
// it is registered where both run in the same process.

#include "common/clock.hpp"
#include "net/router.hpp"
#include "store/ledger.hpp"

namespace tacos::inventory {
class Catalogue;
}
namespace tacos::queue {
class QueueService;
}

namespace tacos::reservation {

/// `GET /api/v1/admin/events/{id}/stats`.
void add_stats_route(net::Router& router, inventory::Catalogue& catalogue, queue::QueueService& queue,
                     store::Ledger& ledger, const Clock& clock);

}  // namespace tacos::reservation

#pragma once
// The inventory role's public routes: the event catalogue (reads) and event creation (admin).

#include "common/clock.hpp"
#include "net/blocking_pool.hpp"
#include "net/router.hpp"
#include "roles/inventory/catalogue.hpp"

namespace tacos::inventory {

struct EventDefaults {
  int hold_ttl_sec = 60;
  int admission_rate = 100;
  int active_buyer_cap = 1000;
  int max_tickets_per_user = 0;  // 0: no limit
};

/// Creating an event writes every seat; it runs on `pool` to keep the I/O threads free.
void add_routes(net::Routes& router, Catalogue& catalogue, const Clock& clock, EventDefaults defaults,
                net::BlockingPool& pool);

/// Builds an EventSpec from the admin's JSON body; the error names the offending field.
Result<domain::EventSpec> parse_event_spec(std::string_view body, std::int64_t now_ms, EventDefaults defaults);

}  // namespace tacos::inventory

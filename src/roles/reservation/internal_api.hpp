#pragma once
// The reservation role's internal API: ReservationClient's calls for roles in other processes.

#include "net/router.hpp"
#include "roles/reservation/client.hpp"

namespace tacos::reservation {

/// POST /internal/v1/reservation/{get, expire, webhook, run-job}.
void add_internal_routes(net::Routes& internal, ReservationClient& local);

}  // namespace tacos::reservation

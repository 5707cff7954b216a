#pragma once
// The queue role's internal API: QueueClient's calls for roles in other processes.

#include "net/router.hpp"
#include "roles/queue/client.hpp"

namespace tacos::queue {

/// POST /internal/v1/queue/{check-reservation-token, consume, buyer-finished, stats}.
void add_internal_routes(net::Routes& internal, QueueClient& local);

}  // namespace tacos::queue

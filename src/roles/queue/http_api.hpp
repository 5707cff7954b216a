#pragma once
// The queue role's routes: join, status, enter, leave (the original gateway's paths) and the
// admin view and controls of an event's queue.

#include "net/router.hpp"
#include "roles/queue/service.hpp"

namespace tacos::queue {

void add_routes(net::Routes& router, QueueService& service);

/// `{status, position, eta_sec, waiting_time, ready_for_entry, event_id}`.
std::string status_json(const StatusResult& s);

}  // namespace tacos::queue

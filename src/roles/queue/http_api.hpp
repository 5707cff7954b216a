#pragma once
// The queue role's routes: join, status, enter, leave (the original gateway's paths) and the
// admin view and controls of an event's queue.

#include "net/router.hpp"
#include "roles/queue/service.hpp"

namespace tacos::queue {

void add_routes(net::Router& router, QueueService& service);

/// `{status, position, eta_sec, waiting_time, ready_for_entry, event_id}`.
std::string status_json(const StatusResult& s);

/// The admin view of an event's queue: `{event_id, open, waiting, admitted, active_buyers, ...}`.
std::string stats_json(const QueueStats& s);

}  // namespace tacos::queue

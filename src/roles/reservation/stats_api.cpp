#include "roles/reservation/stats_api.hpp"

#include <nlohmann/json.hpp>

#include "common/time_format.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/queue/http_api.hpp"
#include "roles/queue/service.hpp"

namespace tacos::reservation {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {
// Sales per minute cover the last three hours: enough for an on-sale, small enough to poll.
constexpr std::int64_t kSalesWindowMs = 3 * 3600 * 1000;
}  // namespace

void add_stats_route(net::Router& router, inventory::Catalogue& catalogue, queue::QueueService& queue,
                     store::Ledger& ledger, const Clock& clock) {
  router.add_sync(Method::get, "/api/v1/admin/events/{id}/stats", [&catalogue, &queue, &ledger, &clock](Request& req) {
    auto event = catalogue.get(req.param("id"));
    if (!event) return net::error_response(Error(Errc::not_found, "no such event"), req.trace_id);
    std::int64_t capacity = 0, free = 0, held = 0, sold = 0;
    for (const auto& s : event->sections) {
      capacity += s.capacity;
      free += s.available;
      held += s.held;
      sold += s.sold;
    }
    json out = {{"event_id", event->id}, {"name", event->name}, {"capacity", capacity},
                {"free", free},          {"held", held},        {"sold", sold}};
    auto q = queue.stats(event->id);
    out["queue"] = q ? json::parse(queue::stats_json(*q)) : json(nullptr);

    auto a = ledger.activity(event->id, clock.now_ms() - kSalesWindowMs);
    out["reservations"] = {{"holds", a.holds},
                           {"confirmed", a.confirmed},
                           {"cancelled", a.cancelled},
                           {"expired", a.expired},
                           {"payment_failed", a.payment_failed}};
    out["payments"] = {{"approved", a.payments_approved}, {"failed", a.payments_failed}};
    json sales = json::array();
    for (const auto& m : a.sales) {
      sales.push_back({{"minute", format_rfc3339(m.start_ms)}, {"seats", m.seats}, {"orders", m.orders}});
    }
    out["sales"] = std::move(sales);
    return Response(200, out.dump());
  });
}

}  // namespace tacos::reservation

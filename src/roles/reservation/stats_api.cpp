#include "roles/reservation/stats_api.hpp"

#include <memory>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"
#include "net/offload.hpp"

namespace tacos::reservation {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {
// Sales per minute cover the last three hours: enough for an on-sale, small enough to poll.
constexpr std::int64_t kSalesWindowMs = 3 * 3600 * 1000;
}  // namespace

void add_stats_route(net::Routes& router, inventory::InventoryClient& inventory, queue::QueueClient& queue,
                     store::Ledger& ledger, const Clock& clock, net::BlockingPool* reads) {
  router.add(
      Method::get, "/api/v1/admin/events/{id}/stats",
      [&inventory, &queue, &ledger, &clock, reads](Request& req, net::Responder res) {
        std::string id(req.param("id"));
        auto trace = req.trace_id;
        inventory.event_info(id, [&, id, trace, res](Result<inventory::EventInfo> info) {
          if (!info) {
            auto e = info.error().code == Errc::not_found ? Error(Errc::not_found, "no such event") : info.error();
            return res.send(net::error_response(e, trace));
          }
          inventory.event_counts(id, [&, id, trace, res, name = info->name](Result<inventory::EventCounts> c) {
            if (!c) return res.send(net::error_response(c.error(), trace));
            auto out = std::make_shared<json>(json{{"event_id", id},
                                                   {"name", name},
                                                   {"capacity", c->capacity},
                                                   {"free", c->free},
                                                   {"held", c->held},
                                                   {"sold", c->sold}});
            queue.stats(id, [&, id, trace, res, out](Result<queue::QueueStats> q) {
              (*out)["queue"] = q ? json::parse(queue::to_json(*q)) : json(nullptr);
              net::offload<store::Ledger::EventActivity>(
                  reads,
                  [&ledger, &clock, id] {
                    return Result<store::Ledger::EventActivity>(ledger.activity(id, clock.now_ms() - kSalesWindowMs));
                  },
                  [trace, res, out](Result<store::Ledger::EventActivity> activity) {
                    if (!activity) return res.send(net::error_response(activity.error(), trace));
                    const auto& a = *activity;
                    (*out)["reservations"] = {{"holds", a.holds},
                                              {"confirmed", a.confirmed},
                                              {"cancelled", a.cancelled},
                                              {"expired", a.expired},
                                              {"payment_failed", a.payment_failed}};
                    (*out)["payments"] = {{"approved", a.payments_approved}, {"failed", a.payments_failed}};
                    json sales = json::array();
                    for (const auto& m : a.sales) {
                      sales.push_back(
                          {{"minute", format_rfc3339(m.start_ms)}, {"seats", m.seats}, {"orders", m.orders}});
                    }
                    (*out)["sales"] = std::move(sales);
                    res.send(Response(200, out->dump()));
                  });
            });
          });
        });
      });
}

}  // namespace tacos::reservation

#include "roles/inventory/internal_api.hpp"

#include <nlohmann/json.hpp>

#include "runtime/rpc.hpp"

namespace tacos::inventory {

namespace {

using runtime::decoded;
using runtime::rpc_route;

struct EventId {
  std::string id;
};
Result<EventId> event_id_from_json(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("event_id") || !j["event_id"].is_string()) {
    return Error(Errc::validation_failed, "give 'event_id'");
  }
  return EventId{j["event_id"].get<std::string>()};
}

struct QueueSettings {
  std::string event_id;
  int rate = 0;
  int cap = 0;
};
Result<QueueSettings> queue_settings_from_json(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("event_id") || !j["event_id"].is_string() || !j.contains("admission_rate") ||
      !j["admission_rate"].is_number_integer() || !j.contains("active_buyer_cap") ||
      !j["active_buyer_cap"].is_number_integer()) {
    return Error(Errc::validation_failed, "give 'event_id', 'admission_rate' and 'active_buyer_cap'");
  }
  return QueueSettings{j["event_id"].get<std::string>(), j["admission_rate"].get<int>(),
                       j["active_buyer_cap"].get<int>()};
}

const std::string kOk = "{}";

}  // namespace

void add_internal_routes(net::Routes& internal, InventoryClient& local) {
  rpc_route(internal, "/internal/v1/inventory/event-info",
            decoded<EventId>(event_id_from_json, [&local](EventId in, Done<std::string> reply) {
              local.event_info(in.id, [reply](Result<EventInfo> e) {
                if (!e) return reply(e.error());
                reply(to_json(*e));
              });
            }));
  rpc_route(internal, "/internal/v1/inventory/event-counts",
            decoded<EventId>(event_id_from_json, [&local](EventId in, Done<std::string> reply) {
              local.event_counts(in.id, [reply](Result<EventCounts> c) {
                if (!c) return reply(c.error());
                reply(to_json(*c));
              });
            }));
  rpc_route(internal, "/internal/v1/inventory/queue-settings",
            decoded<QueueSettings>(queue_settings_from_json, [&local](QueueSettings in, Done<std::string> reply) {
              local.set_queue_settings(in.event_id, in.rate, in.cap, [reply](Status st) {
                if (!st) return reply(st.error());
                reply(kOk);
              });
            }));
  rpc_route(internal, "/internal/v1/inventory/hold",
            decoded<HoldRequest>(hold_request_from_json, [&local](HoldRequest in, Done<std::string> reply) {
              local.hold(std::move(in), [reply](Result<HoldPlan> p) {
                if (!p) return reply(p.error());
                reply(to_json(*p));
              });
            }));
  rpc_route(internal, "/internal/v1/inventory/undo-hold",
            decoded<HoldPlan>(hold_plan_from_json, [&local](HoldPlan in, Done<std::string> reply) {
              local.undo_hold(std::move(in));
              reply(kOk);
            }));
  rpc_route(internal, "/internal/v1/inventory/changed",
            decoded<SeatChange>(seat_change_from_json, [&local](SeatChange in, Done<std::string> reply) {
              local.changed(std::move(in));
              reply(kOk);
            }));
}

}  // namespace tacos::inventory

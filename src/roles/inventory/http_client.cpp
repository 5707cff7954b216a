#include "roles/inventory/http_client.hpp"

#include <nlohmann/json.hpp>

namespace tacos::inventory {

namespace {

using runtime::call_decoded;

std::string id_body(const std::string& event_id) { return nlohmann::json{{"event_id", event_id}}.dump(); }

class HttpInventoryClient final : public InventoryClient {
 public:
  explicit HttpInventoryClient(std::shared_ptr<runtime::RpcChannel> c) : c_(std::move(c)) {}

  void event_info(std::string event_id, Done<EventInfo> done) override {
    call_decoded<EventInfo>(*c_, "/internal/v1/inventory/event-info", id_body(event_id), true, event_info_from_json,
                            std::move(done));
  }
  void event_counts(std::string event_id, Done<EventCounts> done) override {
    call_decoded<EventCounts>(*c_, "/internal/v1/inventory/event-counts", id_body(event_id), true,
                              event_counts_from_json, std::move(done));
  }
  void set_queue_settings(std::string event_id, int admission_rate, int active_buyer_cap, DoneStatus done) override {
    auto body =
        nlohmann::json{
            {"event_id", event_id}, {"admission_rate", admission_rate}, {"active_buyer_cap", active_buyer_cap}}
            .dump();
    runtime::call_status(*c_, "/internal/v1/inventory/queue-settings", std::move(body), true, std::move(done));
  }
  void hold(HoldRequest request, Done<HoldPlan> done) override {
    call_decoded<HoldPlan>(*c_, "/internal/v1/inventory/hold", to_json(request), false, hold_plan_from_json,
                           std::move(done));
  }
  // An undo names its tentative hold and happens once. A change to general-admission stock is a
  // count: not retried, since a lost one is repaired by the inventory's resync and a doubled one
  // would not be.
  void undo_hold(HoldPlan plan) override {
    runtime::notify(*c_, "/internal/v1/inventory/undo-hold", to_json(plan), true);
  }
  void changed(SeatChange change) override {
    runtime::notify(*c_, "/internal/v1/inventory/changed", to_json(change), false);
  }

 private:
  std::shared_ptr<runtime::RpcChannel> c_;
};

}  // namespace

std::shared_ptr<InventoryClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel) {
  return std::make_shared<HttpInventoryClient>(std::move(channel));
}

}  // namespace tacos::inventory

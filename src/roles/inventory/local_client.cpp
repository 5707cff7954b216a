#include "roles/inventory/local_client.hpp"

namespace tacos::inventory {

std::optional<EventInfo> LocalInventoryClient::event_info(std::string_view event_id) {
  auto e = catalogue_.get(event_id);
  if (!e) return std::nullopt;
  return EventInfo{e->id, e->sale_starts_at_ms, e->admission_rate, e->active_buyer_cap, e->hold_ttl_sec};
}

Status LocalInventoryClient::set_queue_settings(std::string_view event_id, int admission_rate, int active_buyer_cap) {
  return catalogue_.update_queue_settings(event_id, admission_rate, active_buyer_cap);
}

}  // namespace tacos::inventory

#pragma once
// What other roles may ask of the inventory role. One interface, two implementations: a local
// one (same process, plain calls) and, when roles run apart, an HTTP one.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tacos::inventory {

/// The facts about an event that the waiting room needs.
struct EventInfo {
  std::string id;
  std::int64_t sale_starts_at_ms = 0;
  int admission_rate = 100;
  int active_buyer_cap = 1000;
  int hold_ttl_sec = 60;
};

class InventoryClient {
 public:
  virtual ~InventoryClient() = default;
  virtual std::optional<EventInfo> event_info(std::string_view event_id) = 0;
  /// Persists admission settings changed by an admin. Errc::not_found for an unknown event.
  virtual Status set_queue_settings(std::string_view event_id, int admission_rate, int active_buyer_cap) = 0;
};

}  // namespace tacos::inventory

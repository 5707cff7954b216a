#pragma once
// InventoryClient for roles in the same process: direct calls into the Catalogue.

#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/client.hpp"

namespace tacos::inventory {

class LocalInventoryClient final : public InventoryClient {
 public:
  explicit LocalInventoryClient(Catalogue& catalogue) : catalogue_(catalogue) {}
  std::optional<EventInfo> event_info(std::string_view event_id) override;
  Status set_queue_settings(std::string_view event_id, int admission_rate, int active_buyer_cap) override;

 private:
  Catalogue& catalogue_;
};

}  // namespace tacos::inventory

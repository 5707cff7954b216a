#pragma once
// InventoryClient for roles in the same process: direct calls into the Catalogue.

#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/client.hpp"
#include "roles/inventory/hold_book.hpp"

namespace tacos::inventory {

class LocalInventoryClient final : public InventoryClient {
 public:
  LocalInventoryClient(Catalogue& catalogue, HoldBook& holds) : catalogue_(catalogue), holds_(holds) {}
  std::optional<EventInfo> event_info(std::string_view event_id) override;
  Status set_queue_settings(std::string_view event_id, int admission_rate, int active_buyer_cap) override;

  Result<HoldPlan> hold(const HoldRequest& request) override { return holds_.hold(request); }
  void undo_hold(const HoldPlan& plan) override { holds_.undo_hold(plan); }
  Status write_hold(store::WriteTx& tx, const HoldPlan& plan, std::string_view reservation_id) override;
  Status write_release(store::WriteTx& tx, const store::Reservation& r) override;
  void released(const store::Reservation& r) override { holds_.released(r); }
  Status write_sell(store::WriteTx& tx, const store::Reservation& r) override;
  void sold(const store::Reservation& r) override { holds_.sold(r); }

 private:
  Catalogue& catalogue_;
  HoldBook& holds_;
};

}  // namespace tacos::inventory

#pragma once
// InventoryClient for roles in the same process: plain calls into the catalogue and the hold
// book, answered before the call returns. Made unbound when the module registers its client and
// bound to the services when it wires them.

#include "net/offload.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/client.hpp"
#include "roles/inventory/hold_book.hpp"

namespace tacos::inventory {

class LocalInventoryClient final : public InventoryClient {
 public:
  /// `reads`: the blocking pool when the store waits on the network, else null. Calls that may
  /// read the store (an event's first load, a re-read before a refusal) then run there.
  void bind(Catalogue& catalogue, HoldBook& holds, net::BlockingPool* reads) {
    catalogue_ = &catalogue;
    holds_ = &holds;
    reads_ = reads;
  }

  void event_info(std::string event_id, Done<EventInfo> done) override;
  void event_counts(std::string event_id, Done<EventCounts> done) override;
  void set_queue_settings(std::string event_id, int admission_rate, int active_buyer_cap, DoneStatus done) override;
  void hold(HoldRequest request, Done<HoldPlan> done) override {
    net::offload<HoldPlan>(
        reads_, [holds = holds_, request = std::move(request)] { return holds->hold(request); }, std::move(done));
  }
  void undo_hold(HoldPlan plan) override { holds_->undo_hold(plan); }
  void changed(SeatChange change) override { holds_->changed(change); }

 private:
  Catalogue* catalogue_ = nullptr;
  HoldBook* holds_ = nullptr;
  net::BlockingPool* reads_ = nullptr;
};

/// The facts of an event other roles see.
EventInfo event_info_of(const domain::Event& e);
EventCounts event_counts_of(const domain::Event& e);

}  // namespace tacos::inventory

#pragma once
// The inventory role's live view of every seat and general-admission stock: the place where
// "all requested seats or none" is decided, in memory, under one mutex per event. The store
// follows it: a hold is written durably before anyone is told about it, and a process that
// restarts rebuilds this view from the committed state: an event is loaded when the catalogue
// creates it, or else on its first use, once however many holds arrive for it together.

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/client.hpp"
#include "store/ledger.hpp"

namespace tacos::inventory {

class HoldBook {
 public:
  HoldBook(Catalogue& catalogue, store::Ledger& ledger);
  ~HoldBook();
  HoldBook(const HoldBook&) = delete;
  HoldBook& operator=(const HoldBook&) = delete;

  /// Loads an event's live state now (if not yet loaded), so its first hold does not wait for a
  /// read of every seat.
  Status preload(std::string_view event_id);
  /// Events loaded from the store so far.
  std::int64_t loads() const;

  Result<HoldPlan> hold(const HoldRequest& request);
  void undo_hold(const HoldPlan& plan);
  /// Sets seats (or returns stock) in memory after a durable change.
  void released(const store::Reservation& r);
  void sold(const store::Reservation& r);

  struct Counts {
    std::int64_t available = 0, held = 0, sold = 0;
  };
  Result<Counts> counts(std::string_view event_id);

 private:
  struct EventState {
    std::mutex mu;
    domain::Event event;
    std::unordered_map<std::string, std::uint32_t> index;  // seat id -> slot
    std::vector<domain::SeatStatus> status;
    std::vector<std::int64_t> price;
    std::int64_t ga_available = 0;
    std::int64_t ga_held = 0;
  };
  /// The event's live state, loaded from the store on first use; `loaded_now` tells the caller
  /// that the load already includes every committed change.
  Result<EventState*> state(std::string_view event_id, bool* loaded_now = nullptr);

  Catalogue& catalogue_;
  store::Ledger& ledger_;
  mutable std::shared_mutex mu_;  // guards events_ and loads_
  std::unordered_map<std::string, std::unique_ptr<EventState>> events_;
  std::mutex load_mu_;  // one load at a time: holds racing for an unloaded event wait for one load
  std::int64_t loads_ = 0;
  int subscription_ = -1;
};

}  // namespace tacos::inventory

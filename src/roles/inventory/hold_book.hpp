#pragma once
// The inventory role's memory of every seat and general-admission stock: a hint that takes the
// seats of a hold tentatively, all or none, under one mutex per event, so that most conflicts are
// refused before they reach the store's writer (decision 0007). The store decides: the hold's
// transaction moves the seats again and fails if one is taken. changed() applies what committed;
// a tentative hold nobody confirms (changed(held)) or undoes lapses after `tentative_ms`. A
// process that restarts rebuilds this view from the committed state: an event is loaded when the
// catalogue creates it, or else on its first use, once however many holds arrive together.
//
// Shared (other processes hold seats too, decision 0007): no tentative holds, because their
// holder may die in another process and its undo reach another replica, and a seat would stay
// refused for nothing. The memory holds only committed changes; a refusal re-reads the event
// first when it was last read more than a second ago, so a seat freed through another replica is
// refused for at most about that long.

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/client.hpp"
#include "store/ledger.hpp"

namespace tacos::inventory {

class HoldBook {
 public:
  /// `metrics`, when given, gets tacos_inventory_seats{event,status} for each event once loaded.
  HoldBook(Catalogue& catalogue, store::Ledger& ledger, const Clock& clock, std::int64_t tentative_ms = 30'000,
           bool shared = false, metrics::Registry* metrics = nullptr);
  ~HoldBook();
  HoldBook(const HoldBook&) = delete;
  HoldBook& operator=(const HoldBook&) = delete;

  /// Loads an event's live state now (if not yet loaded), so its first hold does not wait for a
  /// read of every seat.
  Status preload(std::string_view event_id);
  /// Events loaded from the store so far, and read again after a refusal.
  std::int64_t loads() const;
  std::int64_t resyncs() const { return resyncs_.load(); }

  Result<HoldPlan> hold(const HoldRequest& request);
  void undo_hold(const HoldPlan& plan);
  /// Applies a change that committed: confirms a tentative hold, frees or sells seats. A refused
  /// hold drops its tentative seats and reads the event's committed state again (resync).
  void changed(const SeatChange& change);
  /// Replaces the event's memory with the committed state plus the tentative holds still open.
  void resync(std::string_view event_id);
  /// resync() of every event loaded so far.
  void resync_all();
  /// Reverts tentative holds older than tentative_ms (hold() calls it once a second).
  void lapse_tentative(std::int64_t now_ms);

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
    std::int64_t refreshed_ms = 0;  // shared: when a refusal last read the event again
  };
  /// The event's live state, loaded from the store on first use; `loaded_now` tells the caller
  /// that the load already includes every committed change.
  Result<EventState*> state(std::string_view event_id, bool* loaded_now = nullptr);
  /// The event's committed state, read from the catalogue and the store.
  Result<std::unique_ptr<EventState>> load(std::string_view event_id);
  /// Takes a tentative plan's seats (or quantity) in `e`, whose mutex the caller holds.
  static void apply_tentative(EventState& e, const HoldPlan& plan);
  /// Checks a hold against memory and builds its plan; `mark` takes its seats there (tentative).
  Result<HoldPlan> take(const HoldRequest& request, bool mark);
  /// Shared: true (once a second per event) when a refusal should read the event again first.
  bool refresh_due(std::string_view event_id, std::int64_t now_ms);

  void revert(const HoldPlan& plan);
  /// The counts of `e`, whose mutex the caller holds.
  static Counts count(const EventState& e);
  /// Registers the seat gauges of a newly loaded event (not under mu_: a scrape takes the
  /// registry's lock, then mu_).
  void add_seat_gauges(const std::string& event_id);

  Catalogue& catalogue_;
  store::Ledger& ledger_;
  const Clock& clock_;
  const std::int64_t tentative_ms_;
  const bool shared_;
  metrics::Registry* metrics_;
  std::mutex tentative_mu_;                                                       // guards the tentative holds
  std::unordered_map<std::string, std::pair<std::int64_t, HoldPlan>> tentative_;  // hint id -> (since, plan)
  std::int64_t next_lapse_ms_ = 0;
  std::uint64_t next_hint_ = 0;
  mutable std::shared_mutex mu_;  // guards events_ and loads_
  std::unordered_map<std::string, std::unique_ptr<EventState>> events_;
  std::mutex load_mu_;  // one load at a time: holds racing for an unloaded event wait for one load
  std::int64_t loads_ = 0;
  std::atomic<std::int64_t> resyncs_{0};
  int subscription_ = -1;
};

}  // namespace tacos::inventory

#pragma once
// What other roles may ask of the inventory role. One interface, two implementations: a local
// one (same process, plain calls) and, when roles run apart, an HTTP one.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/ledger.hpp"

namespace tacos::inventory {

/// The facts about an event that the waiting room needs.
struct EventInfo {
  std::string id;
  std::int64_t sale_starts_at_ms = 0;
  int admission_rate = 100;
  int active_buyer_cap = 1000;
  int hold_ttl_sec = 60;
};

struct HoldRequest {
  std::string event_id;
  std::vector<std::string> seat_ids;  // seated events
  std::int64_t quantity = 0;          // general admission
};

/// What a successful in-memory hold took and what it costs.
struct HoldPlan {
  std::string event_id;
  std::vector<std::string> seat_ids;
  std::int64_t quantity = 0;
  std::int64_t amount = 0;
  std::string currency;
  int hold_ttl_sec = 60;
  bool general_admission = false;
  int max_tickets_per_user = 0;  // the event's limit per user across reservations; 0: none
};

class InventoryClient {
 public:
  virtual ~InventoryClient() = default;
  virtual std::optional<EventInfo> event_info(std::string_view event_id) = 0;
  /// Persists admission settings changed by an admin. Errc::not_found for an unknown event.
  virtual Status set_queue_settings(std::string_view event_id, int admission_rate, int active_buyer_cap) = 0;

  /// Takes the seats (or general-admission stock) in memory, all or none: SEAT_UNAVAILABLE names
  /// the seats someone else has, SOLD_OUT when the stock is short. The caller must then either
  /// write_hold() inside its transaction or undo_hold().
  virtual Result<HoldPlan> hold(const HoldRequest& request) = 0;
  virtual void undo_hold(const HoldPlan& plan) = 0;
  /// The durable half of a hold, written in the caller's transaction.
  virtual Status write_hold(store::WriteTx& tx, const HoldPlan& plan, std::string_view reservation_id) = 0;
  /// HELD -> AVAILABLE (or stock back) for a reservation, in the caller's transaction; released()
  /// applies it to memory after the commit.
  virtual Status write_release(store::WriteTx& tx, const store::Reservation& r) = 0;
  virtual void released(const store::Reservation& r) = 0;
  /// HELD -> SOLD, in the caller's transaction; sold() applies it to memory after the commit.
  virtual Status write_sell(store::WriteTx& tx, const store::Reservation& r) = 0;
  virtual void sold(const store::Reservation& r) = 0;
};

}  // namespace tacos::inventory

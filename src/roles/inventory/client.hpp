#pragma once
// What other roles may ask of the inventory role. One interface, two implementations: the local
// one (same process, plain calls; local_client.hpp) and the remote one over the internal API
// (http_client.hpp). Every call answers through its callback, exactly once, from any thread.
//
// Who decides a hold (decision 0007): the store, in the reservation's own transaction
// (store/seats.hpp moves the seats AVAILABLE -> HELD, all or none). The inventory role keeps
// every event's seats in memory as a hint: hold() takes them there tentatively, so that most
// conflicts are refused before they reach the writer, and changed() tells it what committed. A
// tentative hold that nobody confirms or undoes lapses by itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tacos::inventory {

/// The facts about an event that other roles need.
struct EventInfo {
  std::string id;
  std::string name;
  std::int64_t sale_starts_at_ms = 0;
  int admission_rate = 100;
  int active_buyer_cap = 1000;
  int hold_ttl_sec = 60;
  int max_tickets_per_user = 0;  // 0: no limit
  std::string currency;
  bool general_admission = false;
};

/// Seats (or general-admission places) by state, at most a second old.
struct EventCounts {
  std::int64_t capacity = 0;
  std::int64_t free = 0;
  std::int64_t held = 0;
  std::int64_t sold = 0;
};

struct HoldRequest {
  std::string event_id;
  std::vector<std::string> seat_ids;  // seated events
  std::int64_t quantity = 0;          // general admission
};

/// What a tentative hold took and what it costs.
struct HoldPlan {
  std::string event_id;
  std::vector<std::string> seat_ids;
  std::int64_t quantity = 0;
  std::int64_t amount = 0;
  std::string currency;
  int hold_ttl_sec = 60;
  bool general_admission = false;
  int max_tickets_per_user = 0;  // the event's limit per user across reservations; 0: none
  std::string hint_id;           // names the tentative hold in changed() / undo_hold()
};

/// A change that committed, for the inventory's memory of the seats; or (`refused`) a tentative
/// hold the store refused because a seat or ticket was gone after all: the memory was behind the
/// store (a change whose notice was lost), so the inventory reads the event again.
struct SeatChange {
  enum class Kind : std::uint8_t { held, released, sold, refused };
  Kind kind = Kind::held;
  std::string event_id;
  std::vector<std::string> seat_ids;  // empty for general admission
  std::int64_t quantity = 0;
  std::string hint_id;  // held: the tentative hold this confirms; refused: the one to drop
};

class InventoryClient {
 public:
  virtual ~InventoryClient() = default;
  /// NOT_FOUND for an unknown event.
  virtual void event_info(std::string event_id, Done<EventInfo> done) = 0;
  virtual void event_counts(std::string event_id, Done<EventCounts> done) = 0;
  /// Stores admission settings an admin changed at run time. NOT_FOUND for an unknown event.
  virtual void set_queue_settings(std::string event_id, int admission_rate, int active_buyer_cap, DoneStatus done) = 0;
  /// Takes the seats (or stock) tentatively and prices them, all or none: SEAT_UNAVAILABLE names
  /// the seats someone else has, SOLD_OUT when the stock is short, VALIDATION_FAILED for unknown,
  /// repeated or too many seats. The caller then writes the hold (store/seats.hpp) and reports
  /// changed(held), or calls undo_hold().
  virtual void hold(HoldRequest request, Done<HoldPlan> done) = 0;
  virtual void undo_hold(HoldPlan plan) = 0;
  virtual void changed(SeatChange change) = 0;
};

// The internal API's wire format (JSON), shared by the remote client and the role's handlers.
std::string to_json(const EventInfo& e);
Result<EventInfo> event_info_from_json(std::string_view body);
std::string to_json(const EventCounts& c);
Result<EventCounts> event_counts_from_json(std::string_view body);
std::string to_json(const HoldRequest& r);
Result<HoldRequest> hold_request_from_json(std::string_view body);
std::string to_json(const HoldPlan& p);
Result<HoldPlan> hold_plan_from_json(std::string_view body);
std::string to_json(const SeatChange& c);
Result<SeatChange> seat_change_from_json(std::string_view body);

}  // namespace tacos::inventory

#pragma once
// The event catalogue's rules: what a valid event is, how a seat map expands into seats and
// how seat ids are written. Pure values, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tacos::domain {

enum class SeatStatus : std::uint8_t { available, held, sold };
std::string_view to_string(SeatStatus s);
std::optional<SeatStatus> parse_seat_status(std::string_view s);

inline constexpr int kMaxSectionsPerEvent = 64;
inline constexpr int kMaxSeatsPerEvent = 200'000;
inline constexpr std::int64_t kMaxGaQuantity = 10'000'000;

struct SectionSpec {
  std::string name;        // [A-Za-z0-9]{1,16}; used inside seat ids, so no '-'
  std::int64_t price = 0;  // smallest currency unit
  int rows = 0;
  int seats_per_row = 0;
};

struct EventSpec {
  std::string id;  // empty: generated
  std::string name;
  std::string venue;
  std::int64_t starts_at_ms = 0;
  std::int64_t sale_starts_at_ms = 0;
  int hold_ttl_sec = 60;
  int admission_rate = 100;     // users per second
  int active_buyer_cap = 1000;  // admitted buyers shopping at once
  int max_seats_per_reservation = 10;
  int max_tickets_per_user = 0;  // seats or places one user may hold and buy in all; 0: no limit
  std::string currency = "KRW";
  std::vector<SectionSpec> sections;        // seated events
  std::optional<std::int64_t> ga_quantity;  // general admission events
  std::int64_t ga_price = 0;
};

/// Checks an event spec; the error names the offending field.
Status validate(const EventSpec& spec);
bool valid_event_id(std::string_view id);

struct Section {
  std::string name;
  std::int64_t price = 0;
  int rows = 0;           // 0 for general admission
  int seats_per_row = 0;  // 0 for general admission
  std::int64_t capacity = 0;
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t sold = 0;
};

struct Event {
  std::string id;
  std::string name;
  std::string venue;
  std::int64_t starts_at_ms = 0;
  std::int64_t sale_starts_at_ms = 0;
  int hold_ttl_sec = 60;
  int admission_rate = 100;
  int active_buyer_cap = 1000;
  int max_seats_per_reservation = 10;
  int max_tickets_per_user = 0;  // 0: no limit
  std::string currency;
  bool general_admission = false;
  std::int64_t created_at_ms = 0;
  std::vector<Section> sections;

  std::int64_t capacity() const;
  std::int64_t available() const;
  bool on_sale(std::int64_t now_ms) const { return now_ms >= sale_starts_at_ms; }
};

struct Seat {
  std::string seat_id;  // "VIP-9-17"
  std::string section;
  int row = 0;
  int number = 0;
  SeatStatus status = SeatStatus::available;
};

inline constexpr std::string_view kGaSectionName = "GA";

std::string seat_id(std::string_view section, int row, int number);
/// The event a spec describes, with every seat available.
Event make_event(const EventSpec& spec, std::int64_t created_at_ms);
/// Every seat of a seated spec, in section, row, number order.
std::vector<Seat> expand_seats(const EventSpec& spec);

/// The demo event `make run` seeds: 10,000 seats over VIP, R, S and A-F, on sale at `now_ms`,
/// holding seats for `hold_ttl_sec`, at most 10 tickets per fan.
EventSpec demo_event_spec(std::int64_t now_ms, int hold_ttl_sec = 60);
inline constexpr int kMaxTicketsPerUserLimit = 1000;

}  // namespace tacos::domain

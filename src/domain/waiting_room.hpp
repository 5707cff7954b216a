#pragma once
// The waiting room of one event: fair order, positions, abandonment and closed-loop admission.
// Pure rules driven by the caller's clock (tick), so tests replay hours in microseconds.
// Not thread-safe: the queue role owns one per event behind that event's mutex.
//
// Places are numbered by arrival (seq 1, 2, ...). People who join before the sale opens get a
// pre-queue ticket instead; at the opening instant those tickets are shuffled into seqs
// 1..P ahead of everyone who arrives later. Per place the room keeps one state byte and the
// last poll time (5 bytes) plus one Fenwick counter, so a million places fit in a few MB.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/fenwick.hpp"

namespace tacos::domain {

enum class PlaceState : std::uint8_t {
  waiting,    // in line
  ready,      // admitted: may call enter
  entered,    // holds an unused reservation token
  consumed,   // the reservation token was used: buying
  finished,   // bought, cancelled or the hold expired
  left,       // left the line on purpose
  abandoned,  // stopped polling
  lapsed,     // admitted but did not enter / use the token in time
};
std::string_view to_string(PlaceState s);
/// True for states that keep a user's place (joining again returns it).
bool holds_place(PlaceState s);

/// A place in line: a seq once the sale is open, or a pre-queue ticket before.
struct Ticket {
  bool pre = false;
  std::uint32_t index = 0;  // seq (1-based) or pre-queue ticket (0-based)
  bool operator==(const Ticket&) const = default;
};

struct WaitingRoomSettings {
  double admission_rate = 100;         // users per second
  std::int64_t active_buyer_cap = 1000;  // admitted and not finished
  std::int64_t abandon_after_ms = 60'000;
  std::int64_t entry_window_ms = 120'000;      // ready -> enter
  std::int64_t reservation_ttl_ms = 120'000;   // entered -> token used
  std::int64_t buyer_timeout_ms = 900'000;     // consumed -> finished, if nobody reports it
};

struct WaitingRoomStats {
  bool open = false;
  std::int64_t waiting = 0;
  std::int64_t pre_queue = 0;
  std::int64_t admitted_total = 0;
  std::int64_t active_buyers = 0;
  std::int64_t joined_total = 0;
  std::int64_t abandoned_total = 0;
  std::int64_t left_total = 0;
  std::int64_t lapsed_total = 0;
  std::int64_t finished_total = 0;
  std::uint64_t serving = 0;  // highest seq the admission counter has passed
  double measured_rate = 0;   // smoothed admissions per second
};

class WaitingRoom {
 public:
  WaitingRoom(WaitingRoomSettings settings, std::int64_t sale_starts_at_ms, std::int64_t created_ms,
              std::uint64_t shuffle_seed);

  struct Joined {
    Ticket ticket;
    bool existing = false;  // the user already had a place
  };
  /// One place per user key: joining again while the place is held returns it.
  Joined join(std::uint64_t user_key, std::int64_t now_ms);

  struct View {
    PlaceState state = PlaceState::waiting;
    std::optional<std::int64_t> position;  // people ahead still waiting; unknown before opening
  };
  /// Reads a place and records the poll (keeps it from being abandoned). nullopt: no such ticket.
  std::optional<View> poll(Ticket t, std::int64_t now_ms);
  /// Reads without touching the poll time.
  std::optional<View> peek(Ticket t) const;

  /// ready -> entered. Errc::not_ready while waiting; the place's error when it is gone.
  Status enter(Ticket t, std::int64_t now_ms);
  /// entered -> consumed, exactly once.
  Status consume(Ticket t, std::int64_t now_ms);
  /// consumed -> finished: the buyer is done, freeing a slot of the active-buyer cap.
  void finish(Ticket t);
  /// Leaves the line (any live state); a no-op for places already gone.
  void leave(Ticket t);

  /// Advances time: opens the sale (shuffle), admits at the rate within the cap, drops places
  /// that stopped polling and admissions that lapsed.
  void tick(std::int64_t now_ms);

  void set_admission_rate(double per_sec) { s_.admission_rate = per_sec; }
  void set_active_buyer_cap(std::int64_t cap) { s_.active_buyer_cap = cap; }
  const WaitingRoomSettings& settings() const { return s_; }
  WaitingRoomStats stats() const;
  /// Effective admission rate for ETAs: measured when there is history, else configured.
  double eta_rate() const;
  std::int64_t sale_starts_at_ms() const { return sale_start_ms_; }
  bool open() const { return open_; }
  std::size_t memory_bytes() const;

 private:
  std::optional<std::uint32_t> seq_of(Ticket t) const;
  PlaceState& state_at(std::uint32_t seq) { return state_[seq]; }
  void set_state(std::uint32_t seq, PlaceState to);
  void open_sale(std::int64_t now_ms);
  void admit(std::int64_t now_ms);
  void sweep_abandoned(std::int64_t now_ms);
  void sweep_lapses(std::int64_t now_ms);
  std::uint32_t now_s(std::int64_t now_ms) const {
    return static_cast<std::uint32_t>(std::max<std::int64_t>(0, now_ms - created_ms_) / 1000);
  }
  std::uint32_t append_place(std::int64_t now_ms);

  WaitingRoomSettings s_;
  std::int64_t sale_start_ms_;
  std::int64_t created_ms_;
  std::mt19937_64 rng_;
  bool open_ = false;

  // Per seq (index 0 unused).
  std::vector<PlaceState> state_{PlaceState::finished};
  std::vector<std::uint32_t> last_seen_s_{0};
  Fenwick waiting_;  // 1 per seq in state waiting

  // Pre-queue, per ticket.
  std::vector<std::uint32_t> pre_last_seen_s_;
  std::vector<PlaceState> pre_state_;
  std::vector<std::uint32_t> pre_seq_;  // filled at opening

  std::unordered_map<std::uint64_t, Ticket> by_user_;

  struct Deadline {
    std::int64_t at_ms;
    std::uint32_t seq;
  };
  std::deque<Deadline> ready_deadlines_;     // admitted, must enter
  std::deque<Deadline> entered_deadlines_;   // entered, must use the token
  std::deque<Deadline> consumed_deadlines_;  // buying, must be reported finished

  std::uint64_t serving_ = 0;
  double budget_ = 0;
  std::int64_t last_tick_ms_ = 0;
  std::int64_t last_sweep_ms_ = 0;
  std::int64_t rate_window_start_ms_ = 0;
  std::int64_t rate_window_admitted_ = 0;
  double measured_rate_ = 0;
  bool has_rate_history_ = false;

  WaitingRoomStats counters_;
};

}  // namespace tacos::domain

#pragma once
// The waiting room of one event: fair order, positions, abandonment and closed-loop admission.
// Pure rules driven by the caller's clock (tick), so tests replay hours in microseconds.
// Not thread-safe: the queue role owns one per event behind that event's mutex.
//
// Places are numbered by arrival (seq 1, 2, ...). People who join before the sale opens get a
// pre-queue ticket instead; at the opening instant those tickets are shuffled into seqs
// 1..P ahead of everyone who arrives later. Per place the room keeps one state byte and the
// last poll time (5 bytes) plus one Fenwick counter, so a million places fit in a few MB.
//
// Journal mode (settings.journal) is for a room whose changes are stored so that it survives a
// restart (decision 0006). Every change that another fan could see is then held back until the
// owner says it is durable (settle): a place that leaves the line keeps counting in the positions
// of those behind it, and an admission is not shown to the admitted fan, until then. After a
// crash the room rebuilt from what was stored (restore) therefore never shows anyone a position
// higher than one shown before.

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
std::optional<PlaceState> parse_place_state(std::string_view s);
/// True for states that keep a user's place (joining again returns it).
bool holds_place(PlaceState s);
/// True for states in which joining again returns the same place: still in line or admitted and
/// not yet buying. A place whose entry was used (buying or done) or that is gone gets a new one.
bool keeps_place_on_join(PlaceState s);
/// Why enter is refused for a place in state `s` (any but ready and entered, which may enter).
Error enter_refused(PlaceState s);
/// Why a reservation token is refused for a place in state `s` (any but entered, which may use
/// it).
Error consume_refused(PlaceState s);

/// A place in line: a seq once the sale is open, or a pre-queue ticket before.
struct Ticket {
  bool pre = false;
  std::uint32_t index = 0;  // seq (1-based) or pre-queue ticket (0-based)
  bool operator==(const Ticket&) const = default;
};

struct WaitingRoomSettings {
  double admission_rate = 100;           // users per second
  std::int64_t active_buyer_cap = 1000;  // admitted and not finished
  std::int64_t abandon_after_ms = 60'000;
  std::int64_t entry_window_ms = 120'000;     // ready -> enter
  std::int64_t reservation_ttl_ms = 120'000;  // entered -> token used
  std::int64_t buyer_timeout_ms = 900'000;    // consumed -> finished, if nobody reports it
  bool journal = false;  // record changes and hold them back until settle() (see the top of this file)
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
  /// When the place next in line (seq serving + 1) joined, to the second (the opening for the
  /// pre-queue, the restore for places a restored room no longer knows the time of); 0 when
  /// nobody waits in an open line. now - this is the oldest wait.
  std::int64_t next_arrived_ms = 0;
};

/// One stored change of a place: the places that are not plainly waiting.
struct PlaceChange {
  Ticket ticket;                           // a pre-queue ticket before the opening, a seq after
  PlaceState state = PlaceState::waiting;  // ready, entered, left, abandoned or lapsed
  std::int64_t at_ms = 0;
};

/// Changes not yet durable (journal mode): what to store, then hand back to settle().
struct PendingChanges {
  std::vector<PlaceChange> changes;
  std::vector<std::uint32_t> departed;  // seqs that left the line; still counted in positions
  std::uint64_t serving = 0;            // admissions up to here are stored with this batch
  bool opened = false;                  // the opening (the pre-queue's draw) is in this batch
  bool empty() const { return changes.empty() && departed.empty() && !opened; }
};

/// What restore() needs: the stored counters and places of a room, and the places whose entry
/// was used to hold seats (from the reservations).
struct StoredRoom {
  bool opened = false;
  std::int64_t opened_at_ms = 0;
  std::uint32_t pre_issued = 0;  // pre-queue tickets handed out
  std::uint32_t seq_issued = 0;  // seqs handed out after the opening (pre-queue seqs included)
  std::uint64_t serving = 0;
  WaitingRoomStats totals;  // the *_total counters
  std::vector<PlaceChange> places;
  struct Use {
    Ticket ticket;
    bool live = false;  // the hold is still on: buying; otherwise finished
    std::int64_t at_ms = 0;
  };
  std::vector<Use> uses;
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
  void leave(Ticket t, std::int64_t now_ms);

  /// Advances time: opens the sale (shuffle), admits at the rate within the cap, drops places
  /// that stopped polling and admissions that lapsed.
  void tick(std::int64_t now_ms);

  /// Journal mode: the changes since the last call, to be stored and then settled.
  PendingChanges take_pending();
  bool has_pending() const { return !pending_.empty() || serving_ != settled_serving_; }
  /// Journal mode: `p` is durable; its departures leave the positions, its admissions show.
  void settle(const PendingChanges& p);
  /// Journal mode: storing `p` failed; it is taken again with the next take_pending().
  void restore_pending(PendingChanges p);
  /// A room rebuilt from what was stored, at `now_ms`: places stored as gone stay gone, every
  /// other place up to seq_issued waits (polled now), admissions keep their deadlines.
  static WaitingRoom restore(WaitingRoomSettings settings, std::int64_t sale_starts_at_ms, std::int64_t created_ms,
                             std::uint64_t shuffle_seed, const StoredRoom& stored, std::int64_t now_ms);
  /// After a restore the map of users to places starts empty: a poll names its place again.
  void adopt(std::uint64_t user_key, Ticket t);
  /// Seqs and pre-queue tickets handed out so far (what a stored room must remember).
  std::uint32_t pre_issued() const { return static_cast<std::uint32_t>(pre_issued_); }
  std::uint32_t seq_issued() const { return static_cast<std::uint32_t>(state_.size() - 1); }
  std::int64_t opened_at_ms() const { return opened_at_ms_; }

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
  void set_state(std::uint32_t seq, PlaceState to, std::int64_t now_ms);
  void record(Ticket t, PlaceState to, std::int64_t now_ms);
  void open_sale(std::int64_t now_ms);
  void admit(std::int64_t now_ms);
  void sweep_abandoned(std::int64_t now_ms);
  void sweep_lapses(std::int64_t now_ms);
  std::uint32_t now_s(std::int64_t now_ms) const {
    return static_cast<std::uint32_t>(std::max<std::int64_t>(0, now_ms - created_ms_) / 1000);
  }
  std::uint32_t append_place(std::int64_t now_ms);
  bool admission_shown(std::uint32_t seq) const { return !s_.journal || seq <= settled_serving_; }

  WaitingRoomSettings s_;
  std::int64_t sale_start_ms_;
  std::int64_t created_ms_;
  std::mt19937_64 rng_;
  bool open_ = false;
  std::int64_t opened_at_ms_ = 0;
  std::size_t pre_issued_ = 0;

  // Journal mode.
  PendingChanges pending_;
  std::uint64_t settled_serving_ = 0;   // admissions up to here are durable and shown
  std::uint64_t restored_serving_ = 0;  // admitted before a restore: a valid token proves the enter
  bool opening_settled_ = true;         // false from an unstored opening until it is settled

  // The first seq that joined in each second: arrivals are in seq order, so this dates every
  // place to the second at a few bytes per second of sale, not per place.
  struct Arrival {
    std::uint32_t seq;
    std::int64_t at_ms;
  };
  std::vector<Arrival> arrivals_;

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

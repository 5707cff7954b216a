#pragma once
// What the waiting rooms store so that a restart keeps every fan's place (decision 0006). The
// queue role writes a room's counters and the places that are not plainly waiting; where a
// reservation token was used is read from the reservations. Seats, holds and sales are not here.

#include <cstdint>
#include <string>
#include <vector>

namespace tacos::store {

/// One waiting room's counters. The epoch and shuffle seed are chosen once, when the room is
/// first created, and never change: tokens carry the epoch, the seed decides the opening's draw.
struct QueueRoomRecord {
  std::string event_id;
  std::uint64_t epoch = 0;
  std::uint64_t shuffle_seed = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t opened_at_ms = 0;  // 0: the sale has not opened (the pre-queue is not drawn yet)
  std::int64_t pre_issued = 0;    // pre-queue tickets handed out
  std::int64_t seq_issued = 0;    // places in line handed out (the drawn pre-queue included)
  std::int64_t serving = 0;       // the admission counter
  std::int64_t joined_total = 0;
  std::int64_t admitted_total = 0;
  std::int64_t abandoned_total = 0;
  std::int64_t left_total = 0;
  std::int64_t lapsed_total = 0;
  std::int64_t finished_total = 0;
};

/// A place that is not plainly waiting: ready, entered, left, abandoned or lapsed.
struct QueuePlaceRecord {
  std::string event_id;
  std::string ticket;  // "s12" (a place in line) or "p3" (a pre-queue ticket, before the draw)
  std::string state;
  std::int64_t at_ms = 0;
};

/// A reservation made with a reservation token: which place's entry it used.
struct QueueTicketUse {
  std::string queue_ticket;  // as the reservation stores it: "<epoch>:<ticket>"
  bool live = false;         // the hold is still on (HOLD); otherwise its buyer has finished
  std::int64_t at_ms = 0;
};

struct StoredQueue {
  QueueRoomRecord room;
  std::vector<QueuePlaceRecord> places;
  std::vector<QueueTicketUse> uses;
};

/// Thread-safe. Implemented by the SQLite store; a process-memory queue (tests) needs none.
class QueueStateStore {
 public:
  virtual ~QueueStateStore() = default;
  /// Every stored room with its places and the uses of its tokens.
  virtual std::vector<StoredQueue> load_queues() = 0;
  /// Stores (inserts or replaces) rooms and places in one transaction; returns once it is durable.
  /// Throws StoreError when it cannot.
  virtual void save_queues(const std::vector<QueueRoomRecord>& rooms, const std::vector<QueuePlaceRecord>& places) = 0;
};

}  // namespace tacos::store

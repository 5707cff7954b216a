#pragma once
// The waiting room of one event in Redis (kv.backend = redis, issue 21), shared by every queue
// replica: the rules of domain::WaitingRoom (arrival order, the pre-queue shuffled at the opening,
// positions that never increase, abandonment, closed-loop admission within the active-buyer cap,
// entry and buying deadlines), kept in Redis keys of the event's own hash tag and changed only by
// Lua scripts, each one atomic. Replicas may serve any call for any place; the admission ticker
// runs on whichever replica holds the event's lease (tick() takes or renews it), so exactly one
// admits at a time and another takes over within one lease when it dies.
//
// Keys, all under `<prefix>{<event>}:` (one hash tag: a Redis Cluster keeps them on one node).
// Most are strings indexed by a place's seq (or pre-queue ticket), so a waiting place costs a few
// bytes, not a hash or sorted-set entry (a million waiting places: ~35 MB, bench/queue_redis.sh):
//   meta    hash: settings, counters (seq, pre, serving, active, waiting, *_total), the opening,
//           the abandonment sweep's cursors
//   u:<n>   hashes: user key -> ticket ("s12", or "p3" for a pre-queue ticket), in kUserBuckets
//           buckets by user key, each small enough to stay a compact listpack
//   st      string: one byte per seq, the state letter of a place no longer waiting (r e c f l a x)
//   pst     string: the same per pre-queue ticket, before the opening
//   lp      string: eight bytes per seq, when a waiting place last polled (for abandonment)
//   pp      string: the same per pre-queue ticket, before the opening
//   arr     sorted set: the first seq that joined in each second (score) and when (member, ms),
//           so the oldest wait is known to the second; trimmed to the place next in line
//   gone    sorted set: seqs above `serving` that left the line (a position subtracts them)
//   dl      sorted set: "r|e|c<seq>" by deadline (ready -> enter, entered -> use, buying)
//   preseq  string: four bytes per pre-queue ticket, its seq from the opening on
//   lease   string: the replica whose ticker admits, with a TTL
// A place's position is (seq - serving - 1) minus the departed seqs between: serving only grows
// and departures only add up, so a position never increases.
//
// Calls block on Redis (one script each): call them where blocking is allowed, never on an I/O
// thread. Redis that cannot be reached is Errc::unavailable.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "domain/waiting_room.hpp"
#include "kv/redis.hpp"

namespace tacos::queue {

struct RedisRoomSettings {
  domain::WaitingRoomSettings room;  // journal is ignored: every change is one atomic script
  std::int64_t sale_starts_at_ms = 0;
  std::int64_t created_ms = 0;
  std::uint32_t shuffle_seed = 1;  // 1 .. 2^31 - 2, drawn by the room's creator (the first one wins)
  std::uint64_t epoch = 0;         // what its tokens carry, mixed with fresh bits at each (re)creation
};

class RedisRoom {
 public:
  static constexpr std::uint64_t kUserBuckets = 32768;

  RedisRoom(kv::Redis& redis, const std::string& prefix, const std::string& event_id, RedisRoomSettings settings);

  /// A place as a token names it: the room's epoch when the token was signed, and the ticket. A
  /// room made again after Redis lost it has another epoch, so old tokens name nothing in it
  /// (their seqs are handed out anew): poll and enter answer Errc::place_lost then.
  struct Place {
    std::uint64_t epoch = 0;
    domain::Ticket ticket;
  };
  struct Joined {
    domain::WaitingRoom::Joined joined;
    std::uint64_t epoch = 0;  // the room's: what the waiting token carries
  };

  /// One place per user key: joining again while the place is held returns it.
  Result<Joined> join(std::uint64_t user_key, std::int64_t now_ms);
  /// Reads a place and records the poll. nullopt: no such ticket.
  Result<std::optional<domain::WaitingRoom::View>> poll(Place p, std::int64_t now_ms);
  /// The same, answered through `done` on the Redis client's thread (do not block in it).
  void poll_async(Place p, std::int64_t now_ms,
                  std::function<void(Result<std::optional<domain::WaitingRoom::View>>)> done);
  /// ready -> entered (again: fine); the domain's errors otherwise.
  Status enter(Place p, std::int64_t now_ms);
  /// entered -> consumed, exactly once across replicas. Errc::not_in_queue for a place the room
  /// does not know (lost with Redis's data); otherwise the domain's errors.
  Status consume(Place p, std::int64_t now_ms);
  /// consumed -> finished: frees a slot of the active-buyer cap.
  Status finish(Place p);
  Status leave(Place p, std::int64_t now_ms);
  /// Opens the sale when due, releases abandoned places and lapsed admissions, and admits at the
  /// rate within the cap, if this replica (`owner`) holds the event's ticker lease or can take it
  /// (for `lease_ms`). False when another replica holds it.
  Result<bool> tick(const std::string& owner, std::int64_t now_ms, std::int64_t lease_ms);
  Result<domain::WaitingRoomStats> stats();
  /// The admission rate and active-buyer cap in force (configure() on any replica changes them).
  Result<std::pair<double, std::int64_t>> limits();
  /// The room's epoch: the one of the replica that made it (made now if missing).
  Result<std::uint64_t> epoch();
  Status configure(std::optional<double> admission_rate, std::optional<std::int64_t> active_buyer_cap);

 private:
  Result<kv::Reply> run(const kv::Script& script, std::vector<std::string> args, std::string users_key = {});
  /// The settings every script gets first (they make the room if it is missing), then `args`.
  std::vector<std::string> argv(std::vector<std::string> args) const;
  std::vector<std::string> keys_;
  kv::Redis& redis_;
  RedisRoomSettings s_;
};

}  // namespace tacos::queue

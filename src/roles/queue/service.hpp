#pragma once
// The queue role: one WaitingRoom per event, signed waiting and reservation tokens, and a ticker
// that advances every room (admission, abandonment, lapses) and stores what changed.
//
// With a QueueStateStore the rooms survive a restart (decision 0006): a join is answered once its
// place is stored, and each room runs in journal mode, so nobody is shown a position or an
// admission that a crash could take back. Without one (unit tests) everything lives in memory.
//
// Threading: the room map is guarded by a shared mutex; each room by its own mutex, held only for
// the few counter reads or updates of one call. Token signing and checks happen outside locks.
// The ticker thread alone stores changes (flush_mu_ serialises a flush called by hand).
//
// Shared (a kv::Redis given, kv.backend = redis, issue 21): every room lives in Redis
// (queue::RedisRoom) and any number of queue replicas serve it; nothing is journaled to the store,
// the ticker of each replica ticks every room but only the holder of a room's lease admits, and
// every call blocks on Redis, so callers run it where blocking is allowed (the queue module puts
// its routes and local client on the blocking pool then).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/signed_token.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "domain/waiting_room.hpp"
#include "net/blocking_pool.hpp"
#include "roles/inventory/client.hpp"
#include "roles/queue/client.hpp"
#include "roles/queue/redis_room.hpp"
#include "store/queue_state.hpp"

namespace tacos::queue {

struct Settings {
  std::int64_t abandon_after_ms = 60'000;
  std::int64_t entry_window_ms = 120'000;
  std::int64_t reservation_ttl_ms = 120'000;
  std::int64_t buyer_timeout_ms = 900'000;
  std::int64_t waiting_token_ttl_ms = 86'400'000;
  std::int64_t tick_ms = 20;
  std::int64_t max_eta_sec = 6 * 3600;
};

/// The caller of join: a signed-in user or an anonymous client id.
struct Subject {
  std::string user_id;
  std::string client_id;
};

struct JoinResult {
  std::string waiting_token;
  std::string event_id;
  std::string status;
  std::optional<std::int64_t> position;
  std::int64_t eta_sec = 0;
  bool existing = false;
};

/// The answer to a poll. `status` is one of:
///   waiting  in line (position counts down; null before the sale opens, with opens_in_sec)
///   ready    admitted: call enter (ready_for_entry is true)
///   expired  the token no longer stands for a place; `reason` says why: left, abandoned (stopped
///            polling), lapsed (admitted but did not enter or hold in time), used (the entry was
///            used to hold seats), token_expired. Joining again gives a new place.
struct StatusResult {
  std::string event_id;
  std::string status;
  std::string reason;  // expired only
  std::optional<std::int64_t> position;
  std::int64_t eta_sec = 0;
  std::int64_t waiting_time_sec = 0;
  bool ready_for_entry = false;
  std::optional<std::int64_t> opens_in_sec;
};

struct EnterResult {
  std::string reservation_token;
  std::string event_id;
  std::int64_t ttl_sec = 0;
};

class QueueService {
 public:
  /// `state` (may be null: nothing is stored) must outlive the service, and `redis` (may be null:
  /// the rooms live in this process) too; with `redis` the rooms are shared and `state` unused.
  QueueService(inventory::InventoryClient& inventory, const Clock& clock, Settings settings,
               std::vector<auth::SigningKey> keys, metrics::Registry& metrics, store::QueueStateStore* state = nullptr,
               kv::Redis* redis = nullptr, std::string kv_prefix = {}, net::BlockingPool* blocking = nullptr);
  bool shared() const { return redis_ != nullptr; }
  ~QueueService();
  QueueService(const QueueService&) = delete;
  QueueService& operator=(const QueueService&) = delete;

  /// Rebuilds every stored room (once the listeners serve: the event's facts may come from
  /// another process). Blocks until done. Returns how many.
  std::size_t restore();
  /// Runs tick() every settings.tick_ms, and flush() as soon as a join waits for it, on a
  /// background thread until stop_ticker() (which flushes once more).
  void start_ticker();
  void stop_ticker();
  /// Advances every room to the clock's now (the ticker calls this; tests call it by hand).
  void tick();
  /// Stores what changed since the last flush, then shows it and answers the joins waiting for it.
  /// A failed store answers those joins UNAVAILABLE and keeps the changes for the next flush.
  void flush();

  /// Answers through `done`: at once without a store, after the next flush with one.
  void join(std::string_view event_id, const Subject& subject, std::function<void(Result<JoinResult>)> done);
  /// `expected_event` (may be empty) must match the token's event.
  Result<StatusResult> status(std::string_view waiting_token, std::string_view expected_event);
  /// The same answer through `done`, without holding a thread while Redis answers: a shared room
  /// this replica knows is polled asynchronously and `done` runs on the Redis client's thread
  /// (do not block in it); otherwise it runs at once, or on the blocking pool for the first poll
  /// of a shared room here (finding the room may wait on Redis).
  void status_async(std::string waiting_token, std::string expected_event,
                    std::function<void(Result<StatusResult>)> done);
  Result<EnterResult> enter(std::string_view waiting_token, std::string_view expected_event);
  Status leave(std::string_view waiting_token);

  void stats(std::string_view event_id, Done<QueueStats> done);
  void configure(std::string_view event_id, std::optional<int> admission_rate, std::optional<int> active_buyer_cap,
                 Done<QueueStats> done);

  Result<Admission> check_reservation_token(std::string_view token, std::string_view event_id,
                                            std::string_view user_id);
  Status consume(const Admission& admission);
  void buyer_finished(std::string_view event_id, std::string_view ticket);

 private:
  struct PendingJoin {
    JoinResult result;
    std::function<void(Result<JoinResult>)> done;
  };
  struct Room {
    Room(domain::WaitingRoom r, std::uint64_t e, std::uint64_t s, std::int64_t c)
        : room(std::move(r)), epoch(e), seed(s), created_ms(c) {}
    std::mutex mu;
    domain::WaitingRoom room;
    const std::uint64_t epoch;  // chosen when the room is first made; tokens carry it
    const std::uint64_t seed;   // the opening's draw
    const std::int64_t created_ms;
    bool restored = false;           // rebuilt after a restart: polls name their places again
    bool stored = false;             // its record has been stored at least once
    std::vector<PendingJoin> joins;  // answered after the next flush
    // Shared: the room in Redis (`room` then only holds the event's settings), and its counters
    // as last read by the ticker (for metrics and ETAs).
    std::unique_ptr<RedisRoom> shared;
    domain::WaitingRoomStats counters;
    std::atomic<double> rate{0};  // the admission rate in force (the ticker sets it; polls read it)
    std::int64_t counters_read_ms = 0;
  };
  struct WaitingClaims {
    std::string event_id;
    std::uint64_t epoch = 0;
    domain::Ticket ticket;
    std::int64_t issued_ms = 0;
    std::string subject;
  };

  domain::WaitingRoomSettings room_settings(const inventory::EventInfo& info) const;
  /// The event's room, if this process has one.
  Room* find_room(std::string_view event_id);
  /// The event's room, made (with the event's facts from the inventory role) when missing.
  void room_for(std::string event_id, std::function<void(Result<Room*>)> done);
  Result<QueueStats> stats_of(const std::string& event_id, Room& room);
  Result<Room*> existing_room(std::string_view event_id);
  /// True when existing_room's error says the event has no room (a token for it names a place
  /// that is gone); false for a failure to find out (Redis or the inventory not answering), which
  /// a token's holder should retry rather than be told to join again.
  static bool no_room(const Error& e);
  void join_room(Room* room, std::string_view event_id, const Subject& subject,
                 std::function<void(Result<JoinResult>)> done);
  Room* add_room(std::string event_id, std::unique_ptr<Room> room);
  Result<std::pair<Room*, WaitingClaims>> open_waiting_token(std::string_view token, std::string_view expected_event);
  /// The token's claims, checked (signature, expiry, event), without finding its room.
  Result<WaitingClaims> waiting_claims(std::string_view token, std::string_view expected_event) const;
  /// The answer to a poll of `claims`'s place, from what its room said of it.
  Result<StatusResult> status_of(const Room& room, const WaitingClaims& claims, std::int64_t now,
                                 Result<std::optional<domain::WaitingRoom::View>> found) const;
  std::string waiting_token(const std::string& event_id, std::uint64_t epoch, domain::Ticket t, std::int64_t issued_ms,
                            const std::string& subject) const;
  /// Seconds until admission for someone waiting with `position` people ahead (nullopt: not waiting).
  std::int64_t eta_sec(const Room& room, std::optional<std::int64_t> position, std::int64_t now_ms) const;
  /// Whether the room's sale has opened (shared: by its sale time; its ticker opens it then).
  static bool is_open(const Room& room, std::int64_t now_ms);
  std::uint64_t user_key(const std::string& subject) const;
  void register_metrics(const std::string& event_id, Room* room);
  /// Shared rooms: tick each (only a lease holder admits) and refresh their counters.
  void tick_shared(const std::vector<Room*>& rooms, std::int64_t now_ms);
  /// A place's current view. In memory: a peek, or with `poller` (the token's subject) a poll;
  /// shared, always a poll (one script).
  Result<std::optional<domain::WaitingRoom::View>> view_of(Room& room, std::uint64_t epoch, domain::Ticket t,
                                                           std::int64_t now_ms, const std::string* poller);
  void request_flush();

  inventory::InventoryClient& inventory_;
  const Clock& clock_;
  Settings s_;
  auth::TokenSigner waiting_signer_;
  auth::TokenSigner reservation_signer_;
  metrics::Registry& metrics_;
  metrics::Counter& joins_;
  metrics::Counter& flush_failures_;
  store::QueueStateStore* state_;
  kv::Redis* redis_;
  std::string kv_prefix_;
  net::BlockingPool* blocking_;  // shared: where join, stats and configure wait on Redis
  std::string ticker_owner_;     // names this replica's ticker leases (shared)
  bool tick_failing_ = false;    // shared: the last tick could not reach Redis (ticker thread only)
  std::string user_key_secret_;

  std::shared_mutex rooms_mu_;
  std::map<std::string, std::unique_ptr<Room>, std::less<>> rooms_;

  std::mutex flush_mu_;
  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool ticker_stop_ = false;
  bool flush_wanted_ = false;
  std::thread ticker_;
};

/// Ticket <-> token text ("s123" for a seq, "p17" for a pre-queue ticket).
std::string encode_ticket(domain::Ticket t);
std::optional<domain::Ticket> decode_ticket(std::string_view text);

}  // namespace tacos::queue

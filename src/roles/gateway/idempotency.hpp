#pragma once
// Idempotency keys (DESIGN.md §4). Every POST under /api/v1 carries an `Idempotency-Key`; the
// first response to a key is stored and replayed for a repeat of the same request; the same key
// on a different request is refused (422), and a repeat that arrives while the first is still
// running is refused (409) instead of running twice. Keys are scoped per caller: the signed-in
// user, else the anonymous client id (X-Client-ID or the tacos_cid cookie), else the client IP.
//
// Records live behind IdempotencyStore: process memory today (lost on restart; reservations
// also keep their key durably in the store), Redis when gateways run apart.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "net/server.hpp"

namespace tacos::metrics {
class Counter;
class Registry;
}  // namespace tacos::metrics

namespace tacos::gateway {

struct StoredResponse {
  int status = 0;
  std::string content_type;
  std::vector<net::Header> headers;
  std::string body;
};

class IdempotencyStore {
 public:
  enum class Outcome : std::uint8_t { started, replay, in_flight, mismatch };
  struct Begin {
    Outcome outcome = Outcome::started;
    StoredResponse response;  // for replay
  };
  virtual ~IdempotencyStore() = default;
  /// Claims `slot` for a request with this `fingerprint`, or says why it cannot run. Thread-safe.
  virtual Begin begin(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms) = 0;
  /// Stores the response of a started request (kept until now + ttl).
  virtual void complete(std::string_view slot, StoredResponse response, std::int64_t now_ms) = 0;
  /// Forgets a started request whose outcome must not be replayed (nothing was done).
  virtual void release(std::string_view slot) = 0;
};

/// In-process records, in 16 mutex-striped maps, each with a FIFO of expiry times. At most
/// `max_entries` are kept: past that, the oldest finished records are dropped before their TTL
/// (counted in tacos_idempotency_evicted_total).
class MemoryIdempotencyStore final : public IdempotencyStore {
 public:
  MemoryIdempotencyStore(std::int64_t ttl_ms, std::size_t max_entries);
  Begin begin(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms) override;
  void complete(std::string_view slot, StoredResponse response, std::int64_t now_ms) override;
  void release(std::string_view slot) override;
  std::size_t size() const;
  std::uint64_t evicted() const;

 private:
  struct Record {
    std::string fingerprint;
    bool done = false;
    StoredResponse response;
    std::int64_t expires_at_ms = 0;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Record, KeyHash, std::equal_to<>> records;
    std::deque<std::pair<std::int64_t, std::string>> by_age;  // (expires_at_ms, slot), oldest first
  };
  void prune(Shard& shard, std::int64_t now_ms);

  static constexpr std::size_t kShards = 16;
  std::int64_t ttl_ms_;
  std::size_t max_per_shard_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> evicted_{0};
};

/// The pipeline step, after authentication (the scope needs the caller). POSTs to
/// /api/v1/queue/leave (sent by navigator.sendBeacon, which cannot set headers) and to
/// /api/v1/webhooks/ (deduplicated by their event id) are exempt.
class IdempotencyMiddleware final : public net::Middleware {
 public:
  IdempotencyMiddleware(IdempotencyStore& store, const Clock& clock, metrics::Registry& metrics);
  std::optional<net::Response> before(net::Request& req) override;
  void after(const net::Request& req, net::Response& res) override;

  /// Whether a POST to `path` needs a key.
  static bool applies(net::Method method, std::string_view path);

 private:
  IdempotencyStore& store_;
  const Clock& clock_;
  metrics::Counter* replayed_;
  metrics::Counter* in_flight_;
  metrics::Counter* mismatched_;
};

}  // namespace tacos::gateway

#pragma once
// Idempotency keys (DESIGN.md §4). Every POST under /api/v1 carries an `Idempotency-Key`; the
// first response to a key is stored and replayed for a repeat of the same request; the same key
// on a different request is refused (422), and a repeat that arrives while the first is still
// running is refused (409) instead of running twice. Keys are scoped per caller: the signed-in
// user, else the anonymous client id (X-Client-ID or the tacos_cid cookie), else the client IP.
//
// Records live behind IdempotencyStore (asynchronous): process memory (lost on restart;
// reservations also keep their key durably in the store), or a shared store when gateways run
// apart.

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
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

/// A response as one string, as a store keeps it (content type, headers, body), and back.
std::string pack_response(const net::Response& res);
StoredResponse unpack_response(int status, std::string_view packed);

class IdempotencyStore {
 public:
  enum class Outcome : std::uint8_t { started, replay, in_flight, mismatch };
  struct Begin {
    Outcome outcome = Outcome::started;
    StoredResponse response;  // for replay
  };
  /// The claim's outcome, or UNAVAILABLE when a shared store cannot be reached (the request is
  /// then refused with 503 rather than run without protection).
  using Begun = std::function<void(Result<Begin>)>;
  virtual ~IdempotencyStore() = default;
  /// Claims `slot` for a request with this `fingerprint`, or says why it cannot run.
  virtual void begin(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms, Begun done) = 0;
  /// Stores the response of a started request (kept until its claim's time + ttl). Does not
  /// wait: a shared store writes it in the background.
  virtual void complete(std::string_view slot, const net::Response& response) = 0;
  /// Forgets a started request whose outcome must not be replayed (nothing was done).
  virtual void release(std::string_view slot) = 0;
  /// True when begin() always calls back before returning (process memory).
  virtual bool immediate() const { return false; }
};

/// In-process records in 16 mutex-striped shards. Each shard keeps its records in a list in
/// claim order, which is expiry order (one TTL), and an open-addressing index over their slots.
/// A record is one list node: the slot and fingerprint share a string, and the response is packed
/// into one string. At most `max_entries` are kept: past that, the oldest finished records are
/// dropped before their TTL (counted in tacos_idempotency_evicted_total). A record whose request
/// is still running is never dropped, not even past its TTL.
class MemoryIdempotencyStore final : public IdempotencyStore {
 public:
  MemoryIdempotencyStore(std::int64_t ttl_ms, std::size_t max_entries);
  void begin(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms, Begun done) override {
    done(begin_now(slot, fingerprint, now_ms));
  }
  bool immediate() const override { return true; }
  Begin begin_now(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms);
  void complete(std::string_view slot, const net::Response& response) override;
  void release(std::string_view slot) override;
  std::size_t size() const;
  std::uint64_t evicted() const;

 private:
  struct Record {
    std::string text;  // the slot, then the fingerprint
    std::size_t slot_size = 0;
    std::size_t hash = 0;  // of the slot: the index drops a record without hashing its key again
    std::int64_t expires_at_ms = 0;
    bool done = false;
    int status = 0;
    std::string response;              // content type, headers and body: see pack_response()
    std::list<Record>::iterator self;  // its own node in the shard's list
    std::string_view slot() const { return std::string_view(text).substr(0, slot_size); }
    std::string_view fingerprint() const { return std::string_view(text).substr(slot_size); }
  };
  /// Linear probing over (hash, record) entries, at most half full, deletion by backward shift
  /// (no tombstones). A probe reads the table and touches a record only when the hash matches:
  /// one or two cache misses per lookup where a node-based map takes three or four, which was
  /// most of this store's time in a full store.
  class Index {
   public:
    Record* find(std::string_view slot, std::size_t hash) const;
    void insert(Record* r);
    void erase(const Record* r);
    std::size_t size() const { return size_; }

   private:
    struct Entry {
      std::size_t hash = 0;
      Record* record = nullptr;  // null: empty
    };
    std::size_t home(std::size_t hash) const;
    void place(Record* r);
    std::vector<Entry> entries_;  // a power of two in size
    unsigned shift_ = 64;         // 64 - log2(entries_.size())
    std::size_t size_ = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Record> by_age;  // claim order, oldest first; nodes never move
    Index index;
  };
  Shard& shard_of(std::size_t hash) const;
  void prune(Shard& shard, std::int64_t now_ms);
  void erase(Shard& shard, Record& r);

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
  bool asynchronous(const net::Request& req) const override;
  void before_async(net::Request& req, Next next) override;
  void after(const net::Request& req, net::Response& res) override;

  /// Whether a POST to `path` needs a key.
  static bool applies(net::Method method, std::string_view path);

 private:
  /// Claims the request's key; `next` gets the outcome. Returns the answer that ends the request
  /// at once instead (a missing or bad key), without calling `next`.
  std::optional<net::Response> claim(net::Request& req, Next& next);
  std::optional<net::Response> decide(net::Request& req, std::string slot, Result<IdempotencyStore::Begin> begun);
  IdempotencyStore& store_;
  const Clock& clock_;
  metrics::Counter* replayed_;
  metrics::Counter* in_flight_;
  metrics::Counter* mismatched_;
};

}  // namespace tacos::gateway

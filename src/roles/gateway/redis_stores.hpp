#pragma once
// The gateway's state shared by every replica (kv.backend = redis, issue 21): rate-limit buckets
// and idempotency records in Redis, behind the same interfaces as the in-memory stores. Each
// bucket and each record is one key, changed by one script call (no script touches two keys, so
// a Redis Cluster can host them). Callbacks run on the Redis client's thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "kv/redis.hpp"
#include "roles/gateway/idempotency.hpp"
#include "roles/gateway/rate_limit.hpp"

namespace tacos::gateway {

/// Token buckets as hashes {t: tokens, u: updated µs}, timed by the Redis server's clock (one
/// clock for every replica), expiring once full. The buckets of a request are taken one after the
/// other, so a refusal stops before the next (as in memory).
class RedisRateLimitStore final : public RateLimitStore {
 public:
  RedisRateLimitStore(kv::Redis& redis, std::string prefix);
  void take(const std::vector<BucketTake>& buckets, std::int64_t now_us, bool stop_at_refusal, Taken done) override;

 private:
  kv::Redis& redis_;
  std::string prefix_;
};

/// A record is a hash {f: fingerprint, s: status, r: packed response}: claimed with an in-flight
/// lease (`lease_ms`: longer than any request runs; a gateway that dies mid-request frees the key
/// after it), answered and kept for `ttl_ms`, or released (deleted).
class RedisIdempotencyStore final : public IdempotencyStore {
 public:
  RedisIdempotencyStore(kv::Redis& redis, std::string prefix, std::int64_t ttl_ms, std::int64_t lease_ms);
  void begin(std::string_view slot, std::string_view fingerprint, std::int64_t now_ms, Begun done) override;
  void complete(std::string_view slot, const net::Response& response) override;
  void release(std::string_view slot) override;

 private:
  std::string key(std::string_view slot) const;
  kv::Redis& redis_;
  std::string prefix_;
  std::int64_t ttl_ms_;
  std::int64_t lease_ms_;
  // The answer goes to the client while Redis stores it: a retry sent at once could reach Redis
  // first (another connection) and be told "in flight". So this process answers such a retry
  // itself from the answers it is still writing. Both maps hold only requests in progress
  // (claimed is cleared if it ever grows past kMaxClaims, say after lost callbacks). Shared with
  // the Redis callbacks, which may outlive this store.
  static constexpr std::size_t kMaxClaims = 65536;
  struct Local {
    std::mutex mu;
    std::unordered_map<std::string, std::string> claimed;  // slot -> fingerprint, started here
    std::unordered_map<std::string, std::pair<std::string, StoredResponse>> writing;  // slot -> (fp, answer)
  };
  std::shared_ptr<Local> local_ = std::make_shared<Local>();
};

}  // namespace tacos::gateway

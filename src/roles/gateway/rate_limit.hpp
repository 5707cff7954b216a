#pragma once
// Token-bucket rate limits. A Limit is "refill `rate` tokens per second, hold at most `burst`";
// every request takes one token from each bucket that applies to it and is refused (429) when a
// bucket is empty. Buckets live behind RateLimitStore: in process memory, or in a shared store
// when several gateways must share them.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"

namespace tacos::gateway {

struct Limit {
  double rate = 0;   // tokens per second
  double burst = 0;  // bucket size: requests allowed at once after a quiet spell

  /// "20/s", "20/s 40", "5/m 5", "100/h": a count per second, minute or hour, then an optional
  /// burst (default: the count). Rates below one per second are fine ("1/m").
  static Result<Limit> parse(std::string_view spec);
};

/// What a bucket said about one request; the X-RateLimit-* headers come from it.
struct Decision {
  bool allowed = true;
  std::int64_t limit = 0;            // the burst
  std::int64_t remaining = 0;        // whole tokens left afterwards
  std::int64_t reset_sec = 0;        // until the bucket is full again
  std::int64_t retry_after_sec = 0;  // when refused: until a token is back (at least 1)
};

/// What a bucket that holds `tokens` after a take (or a refusal) tells the caller.
Decision decision_of(const Limit& limit, double tokens, bool allowed);

/// One bucket's arithmetic, not thread-safe. Tokens accrue continuously (fractions kept), so a
/// slow rate still lets a patient caller through: no starvation however often it asks.
class TokenBucket {
 public:
  Decision take(const Limit& limit, std::int64_t now_us);
  /// True when the bucket has refilled completely by `now_us` (it can be forgotten).
  bool full_at(const Limit& limit, std::int64_t now_us) const;

 private:
  double tokens_ = -1;  // < 0: never used, starts full
  std::int64_t updated_us_ = 0;
};

/// One bucket a request takes a token from.
struct BucketTake {
  std::string key;
  Limit limit;
};

/// Where buckets live. Asynchronous, so a shared store (Redis) can answer over the network; a
/// store in process memory answers before take() returns and says so with immediate(), which
/// lets the pipeline skip waiting. Thread-safe.
class RateLimitStore {
 public:
  /// One decision per bucket taken, in order; the last may be a refusal. Errc::unavailable when
  /// a shared store cannot be reached (the limiter then lets the request through or refuses it,
  /// as configured).
  using Taken = std::function<void(Result<std::vector<Decision>>)>;
  virtual ~RateLimitStore() = default;
  /// Takes one token from each bucket in order (a bucket starts full). With `stop_at_refusal`
  /// it stops at the first that refuses, so a refused request does not drain the buckets after
  /// it (shadow mode takes them all). `now_us` is the caller's steady clock; a store shared by
  /// processes keeps time by its own clock instead.
  virtual void take(const std::vector<BucketTake>& buckets, std::int64_t now_us, bool stop_at_refusal, Taken done) = 0;
  /// True when take() always calls back before returning.
  virtual bool immediate() const { return false; }
};

/// Buckets in this process, in 32 mutex-striped maps. Buckets that have refilled completely are
/// dropped when a map grows, so memory follows the number of recently active clients.
class MemoryRateLimitStore final : public RateLimitStore {
 public:
  MemoryRateLimitStore();
  void take(const std::vector<BucketTake>& buckets, std::int64_t now_us, bool stop_at_refusal, Taken done) override;
  bool immediate() const override { return true; }
  /// One bucket, answered at once.
  Decision take_one(std::string_view key, const Limit& limit, std::int64_t now_us);
  std::size_t size() const;

 private:
  struct Entry {
    TokenBucket bucket;
    Limit limit;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> buckets;
    std::size_t sweep_at = 1024;
  };
  static constexpr std::size_t kShards = 32;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace tacos::gateway

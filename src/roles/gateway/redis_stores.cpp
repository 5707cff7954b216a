#include "roles/gateway/redis_stores.hpp"

#include <cstdlib>
#include <memory>

#include "common/log.hpp"

namespace tacos::gateway {
namespace {

// KEYS[1]: the bucket. ARGV: rate (tokens per second), burst. Returns {allowed (0|1), tokens left}.
// The arithmetic of TokenBucket::take, on the server's clock.
const kv::Script kTakeToken(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens, updated = tonumber(b[1]), tonumber(b[2])
if tokens == nil then
  tokens, updated = burst, now
elseif now > updated then
  tokens = math.min(burst, tokens + (now - updated) / 1e6 * rate)
  updated = now
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local left = string.format('%.17g', tokens)
redis.call('HSET', KEYS[1], 't', left, 'u', string.format('%d', updated))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, left}
)lua");

// KEYS[1]: the record. ARGV: fingerprint, lease (ms). Returns {outcome[, status, response]}.
const kv::Script kBegin(R"lua(
local r = redis.call('HMGET', KEYS[1], 'f', 's', 'r')
if not r[1] then
  redis.call('HSET', KEYS[1], 'f', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'started'}
end
if r[1] ~= ARGV[1] then return {'mismatch'} end
if not r[2] then return {'in_flight'} end
return {'replay', r[2], r[3]}
)lua");

// KEYS[1]: the record. ARGV: status, packed response, ttl (ms). A record whose lease ran out
// meanwhile is gone: nothing to answer (the key may be claimed again).
const kv::Script kComplete(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
)lua");

Error bad_reply(const kv::Reply& r) {
  return Error(Errc::unavailable, "redis: unexpected reply" + (r.is_error() ? ": " + r.str : std::string()));
}

// Takes buckets[i...] one at a time, then calls done with every decision.
struct Taking {
  kv::Redis& redis;
  std::string prefix;
  std::vector<BucketTake> buckets;
  bool stop_at_refusal;
  RateLimitStore::Taken done;
  std::vector<Decision> decisions;

  static void next(std::shared_ptr<Taking> t) {
    auto i = t->decisions.size();
    if (i == t->buckets.size()) return t->done(std::move(t->decisions));
    const auto& b = t->buckets[i];
    char rate[32], burst[32];
    std::snprintf(rate, sizeof rate, "%.17g", b.limit.rate);
    std::snprintf(burst, sizeof burst, "%.17g", b.limit.burst);
    t->redis.eval(kTakeToken, {t->prefix + b.key}, {rate, burst}, [t](Result<kv::Reply> r) {
      if (!r) return t->done(r.error());
      if (r->type != kv::Reply::Type::array || r->elements.size() != 2) return t->done(bad_reply(*r));
      const auto& limit = t->buckets[t->decisions.size()].limit;
      bool allowed = r->elements[0].integer == 1;
      t->decisions.push_back(decision_of(limit, std::strtod(r->elements[1].str.c_str(), nullptr), allowed));
      if (!allowed && t->stop_at_refusal) return t->done(std::move(t->decisions));
      next(t);
    });
  }
};

}  // namespace

RedisRateLimitStore::RedisRateLimitStore(kv::Redis& redis, std::string prefix)
    : redis_(redis), prefix_(std::move(prefix) + "rl:") {}

void RedisRateLimitStore::take(const std::vector<BucketTake>& buckets, std::int64_t, bool stop_at_refusal, Taken done) {
  auto t = std::make_shared<Taking>(Taking{redis_, prefix_, buckets, stop_at_refusal, std::move(done), {}});
  t->decisions.reserve(buckets.size());
  Taking::next(std::move(t));
}

RedisIdempotencyStore::RedisIdempotencyStore(kv::Redis& redis, std::string prefix, std::int64_t ttl_ms,
                                             std::int64_t lease_ms)
    : redis_(redis), prefix_(std::move(prefix) + "idem:"), ttl_ms_(ttl_ms), lease_ms_(lease_ms) {}

std::string RedisIdempotencyStore::key(std::string_view slot) const { return prefix_ + std::string(slot); }

void RedisIdempotencyStore::begin(std::string_view slot, std::string_view fingerprint, std::int64_t, Begun done) {
  {
    std::unique_lock lock(local_->mu);
    if (auto w = local_->writing.find(std::string(slot)); w != local_->writing.end()) {
      Begin b;
      b.outcome = w->second.first == fingerprint ? Outcome::replay : Outcome::mismatch;
      if (b.outcome == Outcome::replay) b.response = w->second.second;
      lock.unlock();
      return done(std::move(b));
    }
  }
  redis_.eval(kBegin, {key(slot)}, {std::string(fingerprint), std::to_string(lease_ms_)},
              [local = local_, slot = std::string(slot), fp = std::string(fingerprint),
               done = std::move(done)](Result<kv::Reply> r) {
                if (!r) return done(r.error());
                if (r->type != kv::Reply::Type::array || r->elements.empty()) return done(bad_reply(*r));
                const auto& what = r->elements[0].str;
                Begin b;
                if (what == "started") {
                  b.outcome = Outcome::started;
                  std::lock_guard lock(local->mu);
                  if (local->claimed.size() >= kMaxClaims) local->claimed.clear();
                  local->claimed[slot] = fp;
                } else if (what == "mismatch") {
                  b.outcome = Outcome::mismatch;
                } else if (what == "in_flight") {
                  b.outcome = Outcome::in_flight;
                } else if (what == "replay" && r->elements.size() == 3) {
                  b.outcome = Outcome::replay;
                  b.response = unpack_response(std::atoi(r->elements[1].str.c_str()), r->elements[2].str);
                } else {
                  return done(bad_reply(*r));
                }
                done(std::move(b));
              });
}

void RedisIdempotencyStore::complete(std::string_view slot, const net::Response& response) {
  auto packed = pack_response(response);
  {
    std::lock_guard lock(local_->mu);
    if (auto c = local_->claimed.find(std::string(slot)); c != local_->claimed.end()) {
      local_->writing[c->first] = {std::move(c->second), unpack_response(response.status, packed)};
      local_->claimed.erase(c);
    }
  }
  redis_.eval(kComplete, {key(slot)}, {std::to_string(response.status), std::move(packed), std::to_string(ttl_ms_)},
              [local = local_, slot = std::string(slot)](Result<kv::Reply> r) {
                {
                  std::lock_guard lock(local->mu);
                  local->writing.erase(slot);  // Redis has it now (or the claim's lease will end it)
                }
                if (!r || r->is_error()) {
                  // The key stays claimed until its lease runs out; a retry meanwhile is told to wait.
                  log::warn("an idempotent response could not be stored",
                            {log::str("error", r ? r->str : r.error().message)});
                }
              });
}

void RedisIdempotencyStore::release(std::string_view slot) {
  {
    std::lock_guard lock(local_->mu);
    local_->claimed.erase(std::string(slot));
  }
  redis_.command({"DEL", key(slot)}, [](Result<kv::Reply> r) {
    if (!r) log::warn("an idempotency claim could not be released", {log::str("error", r.error().message)});
  });
}

}  // namespace tacos::gateway

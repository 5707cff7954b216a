#include "roles/gateway/idempotency.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "common/metrics.hpp"

namespace tacos::gateway {

using net::Method;
using net::Request;
using net::Response;

namespace {

constexpr std::size_t kMaxKeyLength = 255;

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// What a key stands for: SHA-256 over method, target and body (raw bytes, never shown). OpenSSL,
// not libsodium, for this one: it uses the CPU's SHA instructions, several times faster over a
// body. The algorithm is fetched once and each I/O thread reuses its context: OpenSSL 3 looks
// the algorithm up again on every one-shot call.
std::string fingerprint_of(const Request& req) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string out(32, '\0');
  unsigned int len = 0;
  bool ok = md && ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (std::string_view part : {method_name(req.method), std::string_view(" "), std::string_view(req.target),
                                std::string_view("\n"), std::string_view(req.body)}) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) == 1 && len == 32;
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return out;
}

// Whose key space a request's key lives in.
std::string scope(const Request& req) {
  if (req.identity.authenticated()) return "u:" + req.identity.user_id;
  if (auto id = net::client_id(req); !id.empty()) return "c:" + std::string(id);
  return "ip:" + (req.client_ip.empty() ? req.remote_ip : req.client_ip);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

MemoryIdempotencyStore::MemoryIdempotencyStore(std::int64_t ttl_ms, std::size_t max_entries)
    : ttl_ms_(ttl_ms),
      max_per_shard_(std::max<std::size_t>(1, max_entries / kShards)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

void MemoryIdempotencyStore::prune(Shard& shard, std::int64_t now_ms) {
  for (std::size_t budget = shard.by_age.size(); budget > 0 && !shard.by_age.empty(); --budget) {
    auto& [expires, slot] = shard.by_age.front();
    // Nothing due and room to spare: the common case, decided without a lookup.
    if (expires > now_ms && shard.records.size() <= max_per_shard_) break;
    auto it = shard.records.find(slot);
    if (it == shard.records.end() || it->second.expires_at_ms != expires) {  // released or made again
      shard.by_age.pop_front();
      continue;
    }
    bool expired = expires <= now_ms;
    if (!expired && shard.records.size() <= max_per_shard_) break;
    if (!expired && !it->second.done) {
      // Over capacity, but a request still running is never dropped: look past it.
      shard.by_age.push_back(std::move(shard.by_age.front()));
      shard.by_age.pop_front();
      continue;
    }
    if (!expired) evicted_.fetch_add(1, std::memory_order_relaxed);
    shard.records.erase(it);
    shard.by_age.pop_front();
  }
}

IdempotencyStore::Begin MemoryIdempotencyStore::begin(std::string_view slot, std::string_view fingerprint,
                                                      std::int64_t now_ms) {
  auto& shard = shards_[std::hash<std::string_view>{}(slot) % kShards];
  std::lock_guard lock(shard.mu);
  prune(shard, now_ms);
  if (auto it = shard.records.find(slot); it != shard.records.end() && it->second.expires_at_ms > now_ms) {
    const auto& r = it->second;
    if (r.fingerprint != fingerprint) return {Outcome::mismatch, {}};
    if (!r.done) return {Outcome::in_flight, {}};
    return {Outcome::replay, r.response};
  }
  Record r;
  r.fingerprint = std::string(fingerprint);
  r.expires_at_ms = now_ms + ttl_ms_;
  shard.records.insert_or_assign(std::string(slot), std::move(r));
  shard.by_age.emplace_back(now_ms + ttl_ms_, std::string(slot));
  return {Outcome::started, {}};
}

void MemoryIdempotencyStore::complete(std::string_view slot, StoredResponse response, std::int64_t /*now_ms*/) {
  auto& shard = shards_[std::hash<std::string_view>{}(slot) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.records.find(slot);
  if (it == shard.records.end()) return;
  // The TTL runs from the claim, so the FIFO of expiry times stays in order.
  it->second.done = true;
  it->second.response = std::move(response);  // expired records are pruned by begin()
}

void MemoryIdempotencyStore::release(std::string_view slot) {
  auto& shard = shards_[std::hash<std::string_view>{}(slot) % kShards];
  std::lock_guard lock(shard.mu);
  if (auto it = shard.records.find(slot); it != shard.records.end()) shard.records.erase(it);
}

std::size_t MemoryIdempotencyStore::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].records.size();
  }
  return n;
}

std::uint64_t MemoryIdempotencyStore::evicted() const { return evicted_.load(std::memory_order_relaxed); }

// ---------------------------------------------------------------------------------------------

IdempotencyMiddleware::IdempotencyMiddleware(IdempotencyStore& store, const Clock& clock, metrics::Registry& metrics)
    : store_(store), clock_(clock) {
  constexpr std::string_view kName = "tacos_idempotency_requests_total";
  constexpr std::string_view kHelp = "POSTs with an Idempotency-Key that did not run: replayed, in flight, mismatched";
  replayed_ = &metrics.counter(kName, kHelp, {{"outcome", "replayed"}});
  in_flight_ = &metrics.counter(kName, kHelp, {{"outcome", "in_flight"}});
  mismatched_ = &metrics.counter(kName, kHelp, {{"outcome", "mismatch"}});
}

bool IdempotencyMiddleware::applies(Method method, std::string_view path) {
  return method == Method::post && path.starts_with("/api/v1/") && path != "/api/v1/queue/leave" &&
         !path.starts_with("/api/v1/webhooks/");
}

std::optional<Response> IdempotencyMiddleware::before(Request& req) {
  if (!applies(req.method, req.path) || req.route == "unmatched") return std::nullopt;
  auto key = req.header("idempotency-key");
  if (!valid_key(key)) {
    return net::error_response(
        Error(Errc::validation_failed,
              key.empty() ? "send an 'Idempotency-Key' header (1-255 visible characters, e.g. a UUID) with every POST"
                          : "'Idempotency-Key' must be 1-255 visible ASCII characters",
              "Idempotency-Key"),
        req.request_id);
  }
  std::string slot = scope(req);
  slot += '\n';
  slot += key;
  auto b = store_.begin(slot, fingerprint_of(req), clock_.now_ms());
  switch (b.outcome) {
    case IdempotencyStore::Outcome::started:
      req.idempotency_slot = std::move(slot);
      return std::nullopt;
    case IdempotencyStore::Outcome::replay: {
      replayed_->inc();
      Response r(b.response.status, std::move(b.response.body), std::move(b.response.content_type));
      r.headers = std::move(b.response.headers);
      r.set_header("idempotent-replayed", "true");
      return r;
    }
    case IdempotencyStore::Outcome::in_flight: {
      in_flight_->inc();
      auto r = net::error_response(
          Error(Errc::idempotency_key_in_use,
                "a request with this Idempotency-Key is still being processed: retry shortly to get its answer"),
          req.request_id);
      r.set_header("retry-after", "1");
      return r;
    }
    case IdempotencyStore::Outcome::mismatch:
      mismatched_->inc();
      return net::error_response(Error(Errc::idempotency_key_mismatch,
                                       "this Idempotency-Key was already used for a different request (other path "
                                       "or body): use a new key for a new request"),
                                 req.request_id);
  }
  return std::nullopt;
}

void IdempotencyMiddleware::after(const Request& req, Response& res) {
  if (req.idempotency_slot.empty()) return;
  // 503 means nothing was done (store unavailable, server overloaded): let a retry run.
  if (res.status == 503) {
    store_.release(req.idempotency_slot);
    return;
  }
  store_.complete(req.idempotency_slot, StoredResponse{res.status, res.content_type, res.headers, res.body},
                  clock_.now_ms());
}

}  // namespace tacos::gateway

#include "roles/gateway/idempotency.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <stdexcept>

#include "common/metrics.hpp"

namespace tacos::gateway {

using net::Method;
using net::Request;
using net::Response;

namespace {

constexpr std::size_t kMaxKeyLength = 255;

std::size_t hash_of(std::string_view slot) { return std::hash<std::string_view>{}(slot); }

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

// A response as one string: content type, then each header's name and value, then an empty
// name, each followed by a NUL (none of them can hold one: the HTTP parser refuses it), then the
// body, which may hold anything.
std::string pack_response(const Response& res) {
  std::size_t n = res.content_type.size() + 2 + res.body.size();
  for (const auto& h : res.headers) n += h.name.size() + h.value.size() + 2;
  std::string out;
  out.reserve(n);
  out.append(res.content_type).push_back('\0');
  for (const auto& h : res.headers) {
    out.append(h.name).push_back('\0');
    out.append(h.value).push_back('\0');
  }
  out.push_back('\0');
  out.append(res.body);
  return out;
}

StoredResponse unpack_response(int status, std::string_view packed) {
  StoredResponse r;
  r.status = status;
  auto next = [&packed] {
    auto end = packed.find('\0');
    auto part = packed.substr(0, end);
    packed.remove_prefix(end == std::string_view::npos ? packed.size() : end + 1);
    return part;
  };
  r.content_type = std::string(next());
  for (auto name = next(); !name.empty(); name = next()) r.headers.push_back({std::string(name), std::string(next())});
  r.body = std::string(packed);
  return r;
}

// ---------------------------------------------------------------------------------------------

std::size_t MemoryIdempotencyStore::Index::home(std::size_t hash) const {
  // Fibonacci hashing: the product's top bits. The shard was chosen by the hash's low bits, so
  // those are the same for every record of a shard and must not pick the position.
  return static_cast<std::size_t>((static_cast<std::uint64_t>(hash) * 0x9E3779B97F4A7C15ULL) >> shift_);
}

MemoryIdempotencyStore::Record* MemoryIdempotencyStore::Index::find(std::string_view slot, std::size_t hash) const {
  if (size_ == 0) return nullptr;
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = home(hash);; i = (i + 1) & mask) {
    const Entry& e = entries_[i];
    if (!e.record) return nullptr;
    if (e.hash == hash && e.record->slot() == slot) return e.record;
  }
}

void MemoryIdempotencyStore::Index::place(Record* r) {
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = home(r->hash);
  while (entries_[i].record) i = (i + 1) & mask;
  entries_[i] = Entry{r->hash, r};
}

void MemoryIdempotencyStore::Index::insert(Record* r) {
  if ((size_ + 1) * 2 > entries_.size()) {
    std::vector<Entry> old(std::max<std::size_t>(16, entries_.size() * 2));
    old.swap(entries_);
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(entries_.size()));
    for (const Entry& e : old) {
      if (e.record) place(e.record);
    }
  }
  place(r);
  ++size_;
}

void MemoryIdempotencyStore::Index::erase(const Record* r) {
  const std::size_t mask = entries_.size() - 1;
  std::size_t hole = home(r->hash);
  while (entries_[hole].record != r) hole = (hole + 1) & mask;
  // Backward shift: an entry after the hole moves into it unless its home lies between the
  // hole and itself, so every remaining entry stays reachable from its home.
  for (std::size_t j = (hole + 1) & mask; entries_[j].record; j = (j + 1) & mask) {
    std::size_t from_home = (j - home(entries_[j].hash)) & mask;
    if (from_home >= ((j - hole) & mask)) {
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  entries_[hole] = Entry{};
  --size_;
}

MemoryIdempotencyStore::MemoryIdempotencyStore(std::int64_t ttl_ms, std::size_t max_entries)
    : ttl_ms_(ttl_ms),
      max_per_shard_(std::max<std::size_t>(1, max_entries / kShards)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

MemoryIdempotencyStore::Shard& MemoryIdempotencyStore::shard_of(std::size_t hash) const {
  return shards_[hash % kShards];
}

void MemoryIdempotencyStore::erase(Shard& shard, Record& r) {
  shard.index.erase(&r);
  shard.by_age.erase(r.self);
}

void MemoryIdempotencyStore::prune(Shard& shard, std::int64_t now_ms) {
  for (std::size_t budget = shard.by_age.size(); budget > 0 && !shard.by_age.empty(); --budget) {
    auto oldest = shard.by_age.begin();
    bool expired = oldest->expires_at_ms <= now_ms;
    if (!expired && shard.index.size() <= max_per_shard_) break;  // the common case
    if (!oldest->done) {
      // A request still running is never dropped, over capacity or past its TTL (its answer
      // must land in its own record): look past it.
      shard.by_age.splice(shard.by_age.end(), shard.by_age, oldest);
      continue;
    }
    if (!expired) evicted_.fetch_add(1, std::memory_order_relaxed);
    erase(shard, *oldest);
  }
}

IdempotencyStore::Begin MemoryIdempotencyStore::begin_now(std::string_view slot, std::string_view fingerprint,
                                                          std::int64_t now_ms) {
  const std::size_t hash = hash_of(slot);
  auto& shard = shard_of(hash);
  std::lock_guard lock(shard.mu);
  prune(shard, now_ms);
  if (Record* found = shard.index.find(slot, hash)) {
    if (!found->done || found->expires_at_ms > now_ms) {  // a running claim holds its key past the TTL
      if (found->fingerprint() != fingerprint) return {Outcome::mismatch, {}};
      if (!found->done) return {Outcome::in_flight, {}};
      return {Outcome::replay, unpack_response(found->status, found->response)};
    }
    erase(shard, *found);  // an answer past its TTL, not yet pruned: a new request
  }
  auto& r = shard.by_age.emplace_back();
  r.self = std::prev(shard.by_age.end());
  r.text.reserve(slot.size() + fingerprint.size());
  r.text.append(slot).append(fingerprint);
  r.slot_size = slot.size();
  r.hash = hash;
  r.expires_at_ms = now_ms + ttl_ms_;
  shard.index.insert(&r);
  return {Outcome::started, {}};
}

void MemoryIdempotencyStore::complete(std::string_view slot, const Response& response) {
  const std::size_t hash = hash_of(slot);
  auto& shard = shard_of(hash);
  std::string packed = pack_response(response);  // outside the lock
  std::lock_guard lock(shard.mu);
  Record* found = shard.index.find(slot, hash);
  if (!found) return;
  // The TTL runs from the claim, so the list stays in expiry order.
  found->done = true;
  found->status = response.status;
  found->response = std::move(packed);  // expired records are pruned by begin()
}

void MemoryIdempotencyStore::release(std::string_view slot) {
  const std::size_t hash = hash_of(slot);
  auto& shard = shard_of(hash);
  std::lock_guard lock(shard.mu);
  if (Record* found = shard.index.find(slot, hash)) erase(shard, *found);
}

std::size_t MemoryIdempotencyStore::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].index.size();
  }
  return n;
}

std::uint64_t MemoryIdempotencyStore::evicted() const { return evicted_.load(std::memory_order_relaxed); }

// ---------------------------------------------------------------------------------------------

IdempotencyMiddleware::IdempotencyMiddleware(IdempotencyStore& store, const Clock& clock, metrics::Registry& metrics)
    : store_(store), clock_(clock) {
  constexpr std::string_view kName = "tacos_gateway_idempotency_requests_total";
  replayed_ = &metrics.counter(kName, {{"outcome", "replayed"}});
  in_flight_ = &metrics.counter(kName, {{"outcome", "in_flight"}});
  mismatched_ = &metrics.counter(kName, {{"outcome", "mismatch"}});
}

bool IdempotencyMiddleware::applies(Method method, std::string_view path) {
  return method == Method::post && path.starts_with("/api/v1/") && path != "/api/v1/queue/leave" &&
         !path.starts_with("/api/v1/webhooks/");
}

bool IdempotencyMiddleware::asynchronous(const Request& req) const {
  return !store_.immediate() && applies(req.method, req.path) && req.route != "unmatched";
}

std::optional<Response> IdempotencyMiddleware::before(Request& req) {
  std::optional<Response> out;
  Next next = [&out](std::optional<Response> r) { out = std::move(r); };  // an immediate store
  if (auto early = claim(req, next)) return early;
  return out;
}

void IdempotencyMiddleware::before_async(Request& req, Next next) {
  if (auto early = claim(req, next)) next(std::move(early));
}

std::optional<Response> IdempotencyMiddleware::claim(Request& req, Next& next) {
  if (!applies(req.method, req.path) || req.route == "unmatched") {
    next(std::nullopt);
    return std::nullopt;
  }
  auto key = req.header("idempotency-key");
  if (!valid_key(key)) {
    return net::error_response(
        Error(Errc::validation_failed,
              key.empty() ? "send an 'Idempotency-Key' header (1-255 visible characters, e.g. a UUID) with every POST"
                          : "'Idempotency-Key' must be 1-255 visible ASCII characters",
              "Idempotency-Key"),
        req.trace_id);
  }
  if (req.path == "/api/v1/queue/join" && (req.identity.authenticated() || !net::client_id(req).empty())) {
    // A named caller's join keeps no record: the waiting room keeps one place per user (or client
    // id) and event, so a retry gets the same place back. A million fans joining would otherwise
    // leave a million answers (~0.7 KB each) in Redis for a day. An unnamed caller's join is
    // recorded: its retry would be a new anonymous client with a new place.
    next(std::nullopt);
    return std::nullopt;
  }
  std::string slot = scope(req);
  slot += '\n';
  slot += key;
  auto fingerprint = fingerprint_of(req);
  store_.begin(slot, fingerprint, clock_.now_ms(),
               [this, &req, slot, next = std::move(next)](Result<IdempotencyStore::Begin> b) mutable {
                 next(decide(req, std::move(slot), std::move(b)));
               });
  return std::nullopt;
}

std::optional<Response> IdempotencyMiddleware::decide(Request& req, std::string slot,
                                                      Result<IdempotencyStore::Begin> begun) {
  if (!begun) {
    auto r = net::error_response(
        Error(Errc::unavailable, "idempotency records cannot be checked right now: retry with the same key"),
        req.trace_id);
    r.set_header("retry-after", "1");
    return r;
  }
  auto& b = *begun;
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
          req.trace_id);
      r.set_header("retry-after", "1");
      return r;
    }
    case IdempotencyStore::Outcome::mismatch:
      mismatched_->inc();
      return net::error_response(Error(Errc::idempotency_key_mismatch,
                                       "this Idempotency-Key was already used for a different request (other path "
                                       "or body): use a new key for a new request"),
                                 req.trace_id);
  }
  return std::nullopt;
}

void IdempotencyMiddleware::after(const Request& req, Response& res) {
  if (req.idempotency_slot.empty()) return;
  // 503: nothing was done (store unavailable, server overloaded). 502 and 504: the answer was
  // lost between roles (a replica died, a deadline passed) and whether it was done is unknown.
  // Either way let a retry run: the role decides again from its own state (a hold's key and
  // token are in the store), instead of the gateway repeating an error for 24 hours.
  if (res.status == 502 || res.status == 503 || res.status == 504) {
    store_.release(req.idempotency_slot);
    return;
  }
  store_.complete(req.idempotency_slot, res);
}

}  // namespace tacos::gateway

#include "roles/gateway/rate_limit.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

namespace tacos::gateway {
namespace {

std::int64_t ceil_sec(double seconds) {
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(seconds - 1e-9)));
}

Error bad_spec(std::string_view spec) {
  return Error(Errc::validation_failed,
               "'" + std::string(spec) + "' is not a rate limit: write COUNT/UNIT [BURST], e.g. '20/s 40' or '5/m'");
}

}  // namespace

Result<Limit> Limit::parse(std::string_view spec) {
  auto trimmed = spec;
  while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  auto slash = trimmed.find('/');
  if (slash == std::string_view::npos || slash + 1 >= trimmed.size()) return bad_spec(spec);
  std::int64_t count = 0;
  auto [p, ec] = std::from_chars(trimmed.data(), trimmed.data() + slash, count);
  if (ec != std::errc() || p != trimmed.data() + slash || count < 1 || count > 100'000'000) return bad_spec(spec);
  double per_sec = 0;
  switch (trimmed[slash + 1]) {
    case 's':
      per_sec = 1;
      break;
    case 'm':
      per_sec = 60;
      break;
    case 'h':
      per_sec = 3600;
      break;
    default:
      return bad_spec(spec);
  }
  auto rest = trimmed.substr(slash + 2);
  std::int64_t burst = count;
  if (!rest.empty()) {
    if (rest.front() != ' ') return bad_spec(spec);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    auto [q, ec2] = std::from_chars(rest.data(), rest.data() + rest.size(), burst);
    if (ec2 != std::errc() || q != rest.data() + rest.size() || burst < 1 || burst > 100'000'000) {
      return bad_spec(spec);
    }
  }
  return Limit{static_cast<double>(count) / per_sec, static_cast<double>(burst)};
}

Decision TokenBucket::take(const Limit& limit, std::int64_t now_us) {
  if (tokens_ < 0) {
    tokens_ = limit.burst;
  } else if (now_us > updated_us_) {
    tokens_ = std::min(limit.burst, tokens_ + static_cast<double>(now_us - updated_us_) / 1e6 * limit.rate);
  }
  updated_us_ = std::max(updated_us_, now_us);
  const bool allowed = tokens_ >= 1;
  if (allowed) tokens_ -= 1;
  return decision_of(limit, tokens_, allowed);
}

Decision decision_of(const Limit& limit, double tokens, bool allowed) {
  Decision d;
  d.limit = static_cast<std::int64_t>(limit.burst);
  d.allowed = allowed;
  if (!allowed) d.retry_after_sec = std::max<std::int64_t>(1, ceil_sec((1 - tokens) / limit.rate));
  d.remaining = static_cast<std::int64_t>(std::floor(tokens));
  d.reset_sec = ceil_sec((limit.burst - tokens) / limit.rate);
  return d;
}

bool TokenBucket::full_at(const Limit& limit, std::int64_t now_us) const {
  if (tokens_ < 0) return true;
  return tokens_ + static_cast<double>(now_us - updated_us_) / 1e6 * limit.rate >= limit.burst;
}

MemoryRateLimitStore::MemoryRateLimitStore() : shards_(std::make_unique<Shard[]>(kShards)) {}

void MemoryRateLimitStore::take(const std::vector<BucketTake>& buckets, std::int64_t now_us, bool stop_at_refusal,
                                Taken done) {
  std::vector<Decision> decisions;
  decisions.reserve(buckets.size());
  for (const auto& b : buckets) {
    decisions.push_back(take_one(b.key, b.limit, now_us));
    if (stop_at_refusal && !decisions.back().allowed) break;
  }
  done(std::move(decisions));
}

Decision MemoryRateLimitStore::take_one(std::string_view key, const Limit& limit, std::int64_t now_us) {
  auto& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= shard.sweep_at) {
      std::erase_if(shard.buckets, [&](const auto& kv) { return kv.second.bucket.full_at(kv.second.limit, now_us); });
      shard.sweep_at = std::max<std::size_t>(1024, shard.buckets.size() * 2);
    }
    it = shard.buckets.emplace(std::string(key), Entry{TokenBucket(), limit}).first;
  }
  it->second.limit = limit;
  return it->second.bucket.take(limit, now_us);
}

std::size_t MemoryRateLimitStore::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].buckets.size();
  }
  return n;
}

}  // namespace tacos::gateway

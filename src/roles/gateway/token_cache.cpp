#include "roles/gateway/token_cache.hpp"

#include <algorithm>

namespace tacos::gateway {

VerifiedTokenCache::VerifiedTokenCache(std::size_t capacity) : per_shard_((capacity + kShards - 1) / kShards) {}

std::optional<auth::Claims> VerifiedTokenCache::find(std::string_view token, std::int64_t now_sec) {
  if (per_shard_ == 0) return std::nullopt;
  auto& s = shard(token);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(token);
  if (it == s.map.end()) return std::nullopt;
  if (now_sec >= it->second.until_sec) {
    s.map.erase(it);
    return std::nullopt;
  }
  return it->second.claims;
}

void VerifiedTokenCache::put(std::string_view token, const auth::Claims& claims, std::int64_t now_sec,
                             std::int64_t valid_until_sec) {
  if (per_shard_ == 0) return;
  auto until = std::min(valid_until_sec, now_sec + kMaxAgeSec);
  if (until <= now_sec) return;
  auto& s = shard(token);
  std::lock_guard lock(s.mu);
  if (s.map.size() >= per_shard_ && !s.map.contains(token)) {
    // Full: drop any one entry (the map's first, O(1)); lapsed ones go when next looked up. A
    // miss only costs one verification.
    s.map.erase(s.map.begin());
  }
  s.map.insert_or_assign(std::string(token), Entry{claims, until});
}

std::size_t VerifiedTokenCache::size() {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace tacos::gateway

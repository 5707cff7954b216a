#pragma once
// Claims of bearer tokens that passed full verification, so a client sending the same token on
// every request (waiting-room polls, holds) pays for base64, JSON and the signature once. A
// token is found only by its exact bytes, and only until min(its expiry + leeway, cached + 60 s),
// so a key removed from an identity provider stops working within a minute. Bounded; sharded
// for the I/O threads; thread-safe.

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt.hpp"

namespace tacos::gateway {

class VerifiedTokenCache {
 public:
  static constexpr std::int64_t kMaxAgeSec = 60;

  /// At most `capacity` tokens in all (0 turns the cache off).
  explicit VerifiedTokenCache(std::size_t capacity = 65536);

  std::optional<auth::Claims> find(std::string_view token, std::int64_t now_sec);
  /// Remembers `claims` of a verified `token` until `valid_until_sec` (exclusive) at the latest.
  void put(std::string_view token, const auth::Claims& claims, std::int64_t now_sec, std::int64_t valid_until_sec);
  std::size_t size();

 private:
  struct Entry {
    auth::Claims claims;
    std::int64_t until_sec;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map;
  };
  static constexpr std::size_t kShards = 16;

  Shard& shard(std::string_view token) { return shards_[Hash{}(token) % kShards]; }

  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace tacos::gateway

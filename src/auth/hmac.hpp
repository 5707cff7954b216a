#pragma once
// HMAC-SHA256 (RFC 2104) for the platform's own tokens and webhook signatures.

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace tacos::auth {

/// HMAC-SHA256(key, data) as raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
/// Constant-time comparison.
bool equal_ct(std::string_view a, std::string_view b);

/// A key whose inner and outer pads are hashed once, at construction: each MAC afterwards costs
/// only the message's own blocks. SHA-256 from OpenSSL, which uses the CPU's SHA instructions
/// (several times faster than libsodium's portable code on a reservation token). Immutable and
/// cheap to copy (the hashed pads are shared); thread-safe.
class HmacSha256Key {
 public:
  static constexpr std::size_t kMacBytes = 32;
  using Mac = std::array<unsigned char, kMacBytes>;

  explicit HmacSha256Key(std::string_view key);

  /// The MAC of the concatenation of `parts`, without building it.
  Mac mac(std::initializer_list<std::string_view> parts) const;
  Mac mac(std::string_view data) const { return mac({data}); }
  /// Whether `expected` (raw bytes) is the MAC of `data`; constant time.
  bool verify(std::string_view data, std::string_view expected) const;

  static std::string_view bytes(const Mac& m) { return {reinterpret_cast<const char*>(m.data()), m.size()}; }

 private:
  struct Pads;  // the SHA-256 states after the inner and the outer padded key block
  std::shared_ptr<const Pads> pads_;
};

}  // namespace tacos::auth

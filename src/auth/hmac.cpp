#include "auth/hmac.hpp"

#include <openssl/crypto.h>
#include <sodium.h>

#include <cstring>

namespace tacos::auth {

static_assert(sizeof(crypto_auth_hmacsha256_state) == 208, "update HmacSha256Key::kStateBytes");
static_assert(crypto_auth_hmacsha256_BYTES == HmacSha256Key::kMacBytes);

std::string hmac_sha256(std::string_view key, std::string_view data) {
  auto m = HmacSha256Key(key).mac(data);
  return std::string(HmacSha256Key::bytes(m));
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// libsodium rather than OpenSSL 3's HMAC(), which looks the algorithm up on every call and
// cost several microseconds per waiting-room poll.
HmacSha256Key::HmacSha256Key(std::string_view key) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  std::memcpy(state_, &st, sizeof st);
  sodium_memzero(&st, sizeof st);
}

HmacSha256Key::Mac HmacSha256Key::mac(std::initializer_list<std::string_view> parts) const {
  crypto_auth_hmacsha256_state st;
  std::memcpy(&st, state_, sizeof st);
  for (auto p : parts) {
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(p.data()), p.size());
  }
  Mac out;
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

bool HmacSha256Key::verify(std::string_view data, std::string_view expected) const {
  auto m = mac(data);
  return equal_ct(bytes(m), expected);
}

}  // namespace tacos::auth

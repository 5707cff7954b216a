#pragma once
// Compact signed tokens for the waiting room: `<prefix>.<kid>.<payload>.<mac>` where payload is
// base64url text and mac is HMAC-SHA256 over `<prefix>.<kid>.<payload>`. The key id selects
// one key of a ring, so keys rotate by adding a new signing key while old ones still verify.
// Immutable after construction; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "auth/hmac.hpp"
#include "common/result.hpp"

namespace tacos::auth {

struct SigningKey {
  std::string id;      // short, [A-Za-z0-9_-]
  std::string secret;  // at least 32 bytes
};

class TokenSigner {
 public:
  /// The first key signs; every key verifies. `prefix` separates token kinds ("wt1", "rt1").
  TokenSigner(std::string prefix, std::vector<SigningKey> keys);

  std::string sign(std::string_view payload) const;
  /// The payload of a genuine token; Errc::invalid_token for anything else.
  Result<std::string> verify(std::string_view token) const;

  /// Parses "kid:secret,kid2:secret2"; errors name the problem.
  static Result<std::vector<SigningKey>> parse_keyring(std::string_view text);

 private:
  struct Key {
    std::string id;
    HmacSha256Key mac;
  };
  std::string prefix_;
  std::vector<Key> keys_;
};

}  // namespace tacos::auth

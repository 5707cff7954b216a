#pragma once
// JSON Web Tokens (RFC 7519) signed with HS256. The verifier accepts exactly the algorithm it was
// configured for: `alg: none`, a different algorithm, a bad signature, a wrong issuer or audience,
// and expired or not-yet-valid tokens are all rejected. Stateless and thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/hmac.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace tacos::auth {

struct Claims {
  std::string sub;   // user id
  std::string role;  // "user" or "admin"
  std::string name;  // username, for logs and UI
  std::string iss;
  std::string aud;
  std::int64_t iat = 0;
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
};

struct JwtSettings {
  std::string secret;  // HS256 key
  std::string issuer;
  std::string audience;
  std::int64_t ttl_sec = 3600;
  std::int64_t leeway_sec = 30;
};

class HsJwt {
 public:
  HsJwt(JwtSettings settings, const Clock& clock);

  /// Issues a token for `sub` valid from now for ttl_sec.
  std::string sign(std::string_view sub, std::string_view role, std::string_view name) const;
  /// Signs arbitrary claims (tests craft expired / future tokens with this).
  std::string sign_claims(const Claims& claims) const;
  Result<Claims> verify(std::string_view token) const;

  std::int64_t ttl_sec() const { return s_.ttl_sec; }
  const Clock& clock() const { return clock_; }

 private:
  JwtSettings s_;
  HmacSha256Key key_;
  const Clock& clock_;
};

}  // namespace tacos::auth

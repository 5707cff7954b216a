#pragma once
// Signed payment webhooks: `Tacos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>.<body>")>`. The receiver rejects a bad signature and a timestamp more than the tolerance
// (5 minutes) away from its clock, so a captured webhook cannot be replayed later.

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/hmac.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace tacos::auth {

inline constexpr std::string_view kSignatureHeader = "tacos-signature";
inline constexpr std::int64_t kWebhookToleranceSec = 300;

class WebhookSigner {
 public:
  WebhookSigner(std::string_view secret, const Clock& clock) : key_(secret), clock_(clock) {}
  /// The header value for `body`, signed now.
  std::string sign(std::string_view body) const;
  std::string sign_at(std::string_view body, std::int64_t unix_sec) const;
  /// Errc::invalid_signature for a missing, malformed, wrong or stale signature.
  Status verify(std::string_view header, std::string_view body) const;

 private:
  HmacSha256Key key_;
  const Clock& clock_;
};

}  // namespace tacos::auth

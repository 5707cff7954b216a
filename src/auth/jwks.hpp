#pragma once
// Access tokens from an external identity provider: RS256 and ES256 JWTs checked against the
// provider's JSON Web Key Set (RFC 7517), fetched and cached.
//
// KeySet is one parsed JWKS, immutable. JwksVerifier owns the current KeySet as a shared_ptr
// snapshot behind one mutex (held only to swap or copy the pointer), so verifying a token whose
// key is known never waits for a fetch. An unknown `kid` refetches the set, at most once per
// refresh_min_interval, and the token waits for that fetch; a set older than cache_ttl is
// refetched in the background. A failed fetch keeps the keys it had.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace tacos::auth {

/// User ids of external identities are this prefix + the token's `sub`, so they can never equal
/// a platform account's id (`usr_...`).
inline constexpr std::string_view kExternalUserPrefix = "ext_";
/// Longest `sub` accepted from an identity provider.
inline constexpr std::size_t kMaxExternalSubject = 128;

/// One usable verification key of a JWKS.
struct PublicKey {
  std::string kid;
  std::string alg;             // "RS256" or "ES256": the only algorithm this key verifies
  std::shared_ptr<void> pkey;  // EVP_PKEY, freed with EVP_PKEY_free
};

/// A parsed JWKS. Keys the platform cannot use are listed in `skipped` with the reason.
struct KeySet {
  std::vector<PublicKey> keys;
  std::vector<std::string> skipped;
  const PublicKey* find(std::string_view kid) const;
};

/// Parses a JWKS document: RSA keys (`kty: RSA`, `n`, `e`, at least 2048 bits) and EC P-256 keys
/// (`kty: EC`, `crv: P-256`, `x`, `y`). A key needs a `kid`; `use`, when present, must be `sig`;
/// `alg`, when present, must be RS256 (RSA) or ES256 (EC). Error only when the document itself is
/// not a JWKS (not JSON, no `keys` array); unusable keys are skipped.
Result<KeySet> parse_jwks(std::string_view document);

/// The `alg` of a compact JWS header, or empty when the token has no readable header.
std::string token_alg(std::string_view token);

struct JwksSettings {
  std::string issuer;                // required `iss`
  std::string audience;              // required in `aud` (a string or an array)
  std::string role_claim = "roles";  // role "admin" when this claim (string or array) holds "admin"
  std::int64_t leeway_sec = 30;
  std::int64_t refresh_min_interval_ms = 60'000;
  std::int64_t cache_ttl_ms = 3'600'000;
};

/// Verifies identity-provider tokens against the provider's key set, fetched asynchronously.
/// Holds its state behind a shared pointer, so a fetch still in flight when the verifier goes
/// away completes harmlessly. Thread-safe.
class JwksVerifier {
 public:
  using Fetched = std::function<void(Result<std::string>)>;
  /// Starts fetching the JWKS document (e.g. an HTTP GET of the provider's jwks_uri) and calls
  /// back exactly once, on any thread, possibly before returning.
  using Fetch = std::function<void(Fetched)>;
  using Verified = std::function<void(Result<Claims>)>;

  struct Stats {
    std::uint64_t fetch_ok = 0;
    std::uint64_t fetch_error = 0;    // transport failure or non-200
    std::uint64_t fetch_invalid = 0;  // not a JWKS, or no usable key in it
    std::size_t keys = 0;             // usable keys in the current set
  };

  JwksVerifier(JwksSettings settings, Fetch fetch, const Clock& clock);
  ~JwksVerifier();
  JwksVerifier(const JwksVerifier&) = delete;
  JwksVerifier& operator=(const JwksVerifier&) = delete;

  /// Fetches the set now, ignoring the rate limit (start-up), or joins the fetch already
  /// running. On failure the old keys stay.
  void refresh(std::function<void(Status)> done);
  /// Checks signature and claims. `sub` of the result is kExternalUserPrefix + the token's `sub`.
  /// TOKEN_EXPIRED for an expired token, INVALID_TOKEN for anything else. Calls back before
  /// returning unless the token's key is unknown and the set may be refetched: then after the
  /// fetch (perhaps the provider rotated its keys), on the fetch's thread. A set older than
  /// cache_ttl still verifies while a fresh one is fetched in the background.
  void verify(std::string token, Verified done);

  Stats stats() const;

 private:
  struct State;
  std::shared_ptr<State> st_;
};

}  // namespace tacos::auth

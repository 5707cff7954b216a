#pragma once
// Access tokens from an external identity provider: RS256 and ES256 JWTs checked against the
// provider's JSON Web Key Set (RFC 7517), fetched and cached.
//
// KeySet is one parsed JWKS, immutable. JwksVerifier owns the current KeySet as a shared_ptr
// snapshot behind one mutex (held only to swap or copy the pointer), so verifying a token whose
// key is known never waits for a fetch. An unknown `kid` makes the verifying thread refetch, at
// most once per refresh_min_interval; a set older than cache_ttl is refetched through the
// `defer` hook (a background pool in production). A failed fetch keeps the keys it had.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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

class JwksVerifier {
 public:
  /// Returns the JWKS document (e.g. an HTTP GET of the provider's jwks_uri).
  using Fetch = std::function<Result<std::string>()>;
  /// Runs work later on another thread; when empty, the work runs inline. Work it was given must
  /// have finished before the verifier is destroyed (production joins the pool first).
  using Defer = std::function<void(std::function<void()>)>;

  struct Stats {
    std::uint64_t fetch_ok = 0;
    std::uint64_t fetch_error = 0;    // transport failure or non-200
    std::uint64_t fetch_invalid = 0;  // not a JWKS, or no usable key in it
    std::size_t keys = 0;             // usable keys in the current set
  };

  JwksVerifier(JwksSettings settings, Fetch fetch, const Clock& clock, Defer defer = {});
  ~JwksVerifier();
  JwksVerifier(const JwksVerifier&) = delete;
  JwksVerifier& operator=(const JwksVerifier&) = delete;

  /// Fetches the set now, ignoring the rate limit (start-up). On failure the old keys stay.
  Status refresh();
  /// Checks signature and claims. `sub` of the result is kExternalUserPrefix + the token's `sub`.
  /// TOKEN_EXPIRED for an expired token, INVALID_TOKEN for anything else. Thread-safe.
  Result<Claims> verify(std::string_view token);

  Stats stats() const;

 private:
  std::shared_ptr<const KeySet> snapshot() const;
  /// Marks a fetch as started when none is running and the last one started at least
  /// refresh_min_interval ago (and, if `only_if_stale`, the set is older than cache_ttl).
  bool claim_fetch(bool only_if_stale);
  /// Fetches and swaps in the new set (when usable); clears the running mark.
  Status run_fetch();

  JwksSettings s_;
  Fetch fetch_;
  const Clock& clock_;
  Defer defer_;

  mutable std::mutex mu_;  // guards the fields below
  std::shared_ptr<const KeySet> keys_;
  std::int64_t loaded_us_ = 0;        // steady time of the last successful fetch
  std::int64_t last_attempt_us_ = 0;  // steady time the last fetch started
  bool attempted_ = false;
  bool fetching_ = false;

  std::atomic<std::uint64_t> fetch_ok_{0};
  std::atomic<std::uint64_t> fetch_error_{0};
  std::atomic<std::uint64_t> fetch_invalid_{0};
};

}  // namespace tacos::auth

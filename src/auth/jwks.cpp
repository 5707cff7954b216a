#include "auth/jwks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "common/log.hpp"

namespace tacos::auth {
namespace {

using nlohmann::json;

Error bad(std::string msg) { return Error(Errc::invalid_token, std::move(msg)); }

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
void free_bn(BIGNUM* b) { BN_free(b); }
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, free_bn>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

BnPtr bn_from(std::string_view bytes) {
  return BnPtr(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

// A JWK member that must be a base64url string.
std::optional<std::string> b64_member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return base64url_decode(it->get_ref<const std::string&>());
}

// Builds the key from OSSL_PARAMs and checks it is a valid public key (EC points on the curve).
Result<std::shared_ptr<void>> make_pkey(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Error(Errc::bad_request, "key parameters are not accepted");
  }
  std::shared_ptr<void> key(raw, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return Error(Errc::bad_request, "key is not valid");
  return key;
}

Result<std::shared_ptr<void>> rsa_key(const json& jwk) {
  auto n = b64_member(jwk, "n");
  auto e = b64_member(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) return Error(Errc::bad_request, "RSA key needs base64url n and e");
  auto bn_n = bn_from(*n), bn_e = bn_from(*e);
  if (bn_n && BN_num_bits(bn_n.get()) < 2048) return Error(Errc::bad_request, "RSA key is shorter than 2048 bits");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Error(Errc::internal, "out of memory");
  }
  return make_pkey("RSA", bld.get());
}

Result<std::shared_ptr<void>> ec_key(const json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "P-256") {
    return Error(Errc::bad_request, "EC key curve is not P-256");
  }
  auto x = b64_member(jwk, "x");
  auto y = b64_member(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) {
    return Error(Errc::bad_request, "EC key needs 32-byte base64url x and y");
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return Error(Errc::internal, "out of memory");
  }
  return make_pkey("EC", bld.get());
}

bool verify_signature(const PublicKey& key, std::string_view signing_input, std::string_view sig) {
  std::string der;
  if (key.alg == "ES256") {
    // JOSE carries r || s (32 bytes each); OpenSSL wants a DER ECDSA-Sig-Value.
    if (sig.size() != 64) return false;
    EcdsaSigPtr es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es.get(), &out);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
    OPENSSL_free(out);
    sig = der;
  }
  MdCtxPtr md(EVP_MD_CTX_new());
  // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is.
  return md &&
         EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, static_cast<EVP_PKEY*>(key.pkey.get()),
                                 nullptr) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

// A NumericDate claim (RFC 7519 section 2: may have a fraction). False when absent or not a number.
bool numeric_date(const json& p, const char* name, std::int64_t& out) {
  auto it = p.find(name);
  if (it == p.end()) return false;
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return true;
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 1e15) return false;
    out = static_cast<std::int64_t>(std::floor(d));
    return true;
  }
  return false;
}

bool valid_subject(std::string_view sub) {
  if (sub.empty() || sub.size() > kMaxExternalSubject) return false;
  for (char ch : sub) {
    auto c = static_cast<unsigned char>(ch);
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == '@' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool printable(std::string_view s) {
  for (char ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

// The claim named `name`, or failing that the nested member at its dotted path
// (`realm_access.roles`). Names that contain dots themselves (`https://x/roles`) match first.
const json* find_claim(const json& p, const std::string& name) {
  if (auto it = p.find(name); it != p.end()) return &*it;
  const json* cur = &p;
  std::size_t start = 0;
  while (cur->is_object()) {
    auto dot = name.find('.', start);
    auto it = cur->find(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (it == cur->end()) return nullptr;
    if (dot == std::string::npos) return &*it;
    cur = &*it;
    start = dot + 1;
  }
  return nullptr;
}

bool claim_holds(const json* claim, std::string_view value) {
  if (!claim) return false;
  if (claim->is_string()) return claim->get_ref<const std::string&>() == value;
  if (claim->is_array()) {
    for (const auto& v : *claim) {
      if (v.is_string() && v.get_ref<const std::string&>() == value) return true;
    }
  }
  return false;
}

}  // namespace

const PublicKey* KeySet::find(std::string_view kid) const {
  for (const auto& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

Result<KeySet> parse_jwks(std::string_view document) {
  auto doc = json::parse(document, nullptr, false);
  if (!doc.is_object()) return Error(Errc::bad_request, "JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return Error(Errc::bad_request, "JWKS has no keys array");
  KeySet set;
  std::size_t index = 0;
  for (const auto& jwk : *keys) {
    std::string label = "key " + std::to_string(index++);
    auto skip = [&](const std::string& why) { set.skipped.push_back(label + ": " + why); };
    if (!jwk.is_object()) {
      skip("not an object");
      continue;
    }
    auto kid = jwk.find("kid");
    if (kid == jwk.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty()) {
      skip("no kid");
      continue;
    }
    PublicKey key;
    key.kid = kid->get<std::string>();
    label += " (kid " + key.kid.substr(0, 64) + ")";
    if (auto use = jwk.find("use"); use != jwk.end() && !(use->is_string() && *use == "sig")) {
      skip("use is not sig");
      continue;
    }
    if (set.find(key.kid)) {
      skip("duplicate kid");
      continue;
    }
    auto kty = jwk.find("kty");
    std::string type = kty != jwk.end() && kty->is_string() ? kty->get<std::string>() : "";
    std::string expected_alg = type == "RSA" ? "RS256" : type == "EC" ? "ES256" : "";
    if (expected_alg.empty()) {
      skip("kty '" + type.substr(0, 16) + "' is not RSA or EC");
      continue;
    }
    key.alg = expected_alg;
    if (auto alg = jwk.find("alg"); alg != jwk.end()) {
      if (!alg->is_string() || alg->get_ref<const std::string&>() != expected_alg) {
        skip("alg is not " + expected_alg);
        continue;
      }
    }
    auto pkey = type == "RSA" ? rsa_key(jwk) : ec_key(jwk);
    if (!pkey) {
      skip(pkey.error().message);
      continue;
    }
    key.pkey = std::move(*pkey);
    set.keys.push_back(std::move(key));
  }
  return set;
}

std::string token_alg(std::string_view token) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos) return {};
  auto raw = base64url_decode(token.substr(0, dot));
  if (!raw) return {};
  auto header = json::parse(*raw, nullptr, false);
  if (!header.is_object()) return {};
  auto alg = header.find("alg");
  return alg != header.end() && alg->is_string() ? alg->get<std::string>() : std::string();
}

struct JwksVerifier::State : std::enable_shared_from_this<State> {
  State(JwksSettings s, Fetch f, const Clock& c) : settings(std::move(s)), fetch(std::move(f)), clock(c) {}

  const JwksSettings settings;
  const Fetch fetch;
  const Clock& clock;

  mutable std::mutex mu;  // guards the fields below
  std::shared_ptr<const KeySet> keys;
  std::int64_t loaded_us = 0;        // steady time of the last successful fetch
  std::int64_t last_attempt_us = 0;  // steady time the last fetch started
  bool attempted = false;
  bool fetching = false;
  std::vector<std::function<void(Status)>> waiters;  // called when the running fetch ends

  std::atomic<std::uint64_t> fetch_ok{0};
  std::atomic<std::uint64_t> fetch_error{0};
  std::atomic<std::uint64_t> fetch_invalid{0};

  std::shared_ptr<const KeySet> snapshot() const {
    std::lock_guard lock(mu);
    return keys;
  }

  // Under mu: whether a fetch may start now (none running, the last one started at least
  // refresh_min_interval ago and, if `only_if_stale`, the set is older than cache_ttl). Marks it
  // started when so.
  bool claim_locked(bool only_if_stale, bool ignore_interval = false) {
    auto now = clock.steady_us();
    if (fetching) return false;
    if (!ignore_interval && attempted && now - last_attempt_us < settings.refresh_min_interval_ms * 1000) return false;
    if (only_if_stale && keys && now - loaded_us < settings.cache_ttl_ms * 1000) return false;
    fetching = true;
    attempted = true;
    last_attempt_us = now;
    return true;
  }

  // A fetch was claimed: run it. Completion swaps in the new set and wakes the waiters.
  void start_fetch() {
    if (!fetch) return finish(Error(Errc::unavailable, "no JWKS source"));
    fetch([self = shared_from_this()](Result<std::string> doc) { self->finish(std::move(doc)); });
  }

  void finish(Result<std::string> doc) {
    Status outcome;
    std::shared_ptr<const KeySet> fresh;
    if (!doc) {
      fetch_error.fetch_add(1);
      outcome = Error(Errc::unavailable, "JWKS fetch failed: " + doc.error().message);
    } else if (auto set = parse_jwks(*doc); !set) {
      fetch_invalid.fetch_add(1);
      outcome = Error(Errc::unavailable, "JWKS is invalid: " + set.error().message);
    } else if (set->keys.empty()) {
      fetch_invalid.fetch_add(1);
      std::string why;
      for (const auto& s : set->skipped) why += (why.empty() ? "" : "; ") + s;
      outcome = Error(Errc::unavailable, "JWKS has no usable key" + (why.empty() ? "" : " (" + why + ")"));
    } else {
      fetch_ok.fetch_add(1);
      for (const auto& why : set->skipped) log::warn("JWKS key skipped", {log::str("reason", why)});
      log::info("JWKS loaded", {log::num("keys", static_cast<long long>(set->keys.size()))});
      fresh = std::make_shared<const KeySet>(std::move(*set));
    }
    if (!outcome)
      log::warn("JWKS not refreshed; keeping the keys already loaded", {log::str("error", outcome.error().message)});
    std::vector<std::function<void(Status)>> woken;
    {
      std::lock_guard lock(mu);
      if (fresh) {
        keys = std::move(fresh);
        loaded_us = clock.steady_us();
      }
      fetching = false;
      woken.swap(waiters);
    }
    for (auto& w : woken) w(outcome);
  }

  Result<Claims> check(std::string_view token, const KeySet* set, bool& key_missing) const;
};

JwksVerifier::JwksVerifier(JwksSettings settings, Fetch fetch, const Clock& clock)
    : st_(std::make_shared<State>(std::move(settings), std::move(fetch), clock)) {}

JwksVerifier::~JwksVerifier() = default;

JwksVerifier::Stats JwksVerifier::stats() const {
  Stats st;
  st.fetch_ok = st_->fetch_ok.load();
  st.fetch_error = st_->fetch_error.load();
  st.fetch_invalid = st_->fetch_invalid.load();
  auto keys = st_->snapshot();
  st.keys = keys ? keys->keys.size() : 0;
  return st;
}

void JwksVerifier::refresh(std::function<void(Status)> done) {
  bool start = false;
  {
    std::lock_guard lock(st_->mu);
    start = st_->claim_locked(false, true);  // false only while one is running: join it
    st_->waiters.push_back(std::move(done));
  }
  if (start) st_->start_fetch();
}

void JwksVerifier::verify(std::string token, Verified done) {
  bool missing = false;
  auto keys = st_->snapshot();
  auto claims = st_->check(token, keys.get(), missing);
  bool start = false;
  if (!missing) {
    {
      std::lock_guard lock(st_->mu);
      start = st_->claim_locked(true);  // the set is stale: refresh it behind this request
    }
    if (start) st_->start_fetch();
    return done(std::move(claims));
  }
  {
    // Perhaps the provider rotated its keys: look again, but not more often than allowed, so
    // tokens with made-up key ids cannot make us hammer the provider. A fetch already running
    // is waited for.
    std::unique_lock lock(st_->mu);
    bool running = st_->fetching;
    start = !running && st_->claim_locked(false);
    if (!running && !start) {
      lock.unlock();
      return done(std::move(claims));
    }
    st_->waiters.push_back([st = st_, token = std::move(token), done = std::move(done)](const Status&) {
      bool still_missing = false;
      auto set = st->snapshot();
      done(st->check(token, set.get(), still_missing));
    });
  }
  if (start) st_->start_fetch();
}

Result<Claims> JwksVerifier::State::check(std::string_view token, const KeySet* set, bool& key_missing) const {
  key_missing = false;
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return bad("token is not a JWT");
  }
  if (token.find('=') != std::string_view::npos) return bad("token is not valid base64url");
  auto header_raw = base64url_decode(token.substr(0, dot1));
  auto payload_raw = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_raw || !payload_raw || !sig) return bad("token is not valid base64url");
  auto header = json::parse(*header_raw, nullptr, false);
  if (!header.is_object()) return bad("token header is not JSON");

  // Only the asymmetric algorithms: "none" and HS256 keyed with a public key (algorithm
  // confusion) never reach a key.
  auto alg_it = header.find("alg");
  std::string alg = alg_it != header.end() && alg_it->is_string() ? alg_it->get<std::string>() : "";
  if (alg != "RS256" && alg != "ES256") return bad("token algorithm is not accepted");
  auto kid_it = header.find("kid");
  if (kid_it == header.end() || !kid_it->is_string()) return bad("token has no key id");
  const auto& kid = kid_it->get_ref<const std::string&>();

  const PublicKey* key = set ? set->find(kid) : nullptr;
  if (!key) {
    key_missing = true;
    return bad("token key is unknown");
  }
  if (key->alg != alg) return bad("token algorithm does not match its key");
  if (!verify_signature(*key, token.substr(0, dot2), *sig)) return bad("token signature is invalid");

  auto p = json::parse(*payload_raw, nullptr, false);
  if (!p.is_object()) return bad("token payload is not JSON");
  Claims c;
  auto iss = p.find("iss");
  if (iss == p.end() || !iss->is_string() || iss->get_ref<const std::string&>() != settings.issuer) {
    return bad("token issuer is not accepted");
  }
  c.iss = settings.issuer;
  if (!claim_holds(p.contains("aud") ? &p["aud"] : nullptr, settings.audience))
    return bad("token audience is not accepted");
  c.aud = settings.audience;
  if (!numeric_date(p, "exp", c.exp)) return bad("token has no expiry");
  if (p.contains("nbf") && !numeric_date(p, "nbf", c.nbf)) return bad("token nbf is not a number");
  if (p.contains("iat") && !numeric_date(p, "iat", c.iat)) return bad("token iat is not a number");
  std::int64_t now = clock.now_sec();
  if (now >= c.exp + settings.leeway_sec) return Error(Errc::token_expired, "token has expired");
  if (c.nbf != 0 && now + settings.leeway_sec < c.nbf) return bad("token is not valid yet");
  if (c.iat != 0 && now + settings.leeway_sec < c.iat) return bad("token was issued in the future");

  auto sub = p.find("sub");
  if (sub == p.end() || !sub->is_string() || !valid_subject(sub->get_ref<const std::string&>())) {
    return bad("token subject is missing or not accepted");
  }
  c.sub = std::string(kExternalUserPrefix) + sub->get<std::string>();
  for (const char* name_claim : {"preferred_username", "name"}) {
    auto it = p.find(name_claim);
    if (it != p.end() && it->is_string() && !it->get_ref<const std::string&>().empty() &&
        it->get_ref<const std::string&>().size() <= 128 && printable(it->get_ref<const std::string&>())) {
      c.name = it->get<std::string>();
      break;
    }
  }
  if (c.name.empty()) c.name = sub->get<std::string>();
  c.role = claim_holds(find_claim(p, settings.role_claim), "admin") ? "admin" : "user";
  return c;
}

}  // namespace tacos::auth

#include "auth/jwks.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_idp.hpp"

namespace tacos::auth {
namespace {

using nlohmann::json;
using test::TestKey;

constexpr const char* kIssuer = "https://idp.example";
constexpr const char* kAudience = "tacos-api";

// Key generation is the slow part: one set of keys for the whole file.
const TestKey& rsa() {
  static const TestKey k("rsa-1", "RS256");
  return k;
}
const TestKey& ec() {
  static const TestKey k("ec-1", "ES256");
  return k;
}
const TestKey& rotated() {
  static const TestKey k("rsa-2", "RS256");
  return k;
}

class Jwks : public ::testing::Test {
 protected:
  Jwks() {
    document_ = test::jwks_of({&rsa(), &ec()});
    settings_.issuer = kIssuer;
    settings_.audience = kAudience;
    settings_.leeway_sec = 30;
    settings_.refresh_min_interval_ms = 60'000;
    settings_.cache_ttl_ms = 3'600'000;
  }

  // The verifier, with a fetch that answers at once (or is held, when hold_ is set).
  struct Sync {
    JwksVerifier& v;
    Result<Claims> verify(const std::string& token) {
      std::optional<Result<Claims>> out;
      v.verify(token, [&out](Result<Claims> r) { out = std::move(r); });
      if (!out) return Error(Errc::internal, "verify has not called back");
      return std::move(*out);
    }
    Status refresh() {
      std::optional<Status> out;
      v.refresh([&out](Status s) { out = std::move(s); });
      if (!out) return Error(Errc::internal, "refresh has not called back");
      return std::move(*out);
    }
    JwksVerifier::Stats stats() const { return v.stats(); }
  };
  Sync verifier() {
    if (!verifier_) {
      verifier_ = std::make_unique<JwksVerifier>(
          settings_,
          [this](JwksVerifier::Fetched done) {
            ++fetches_;
            if (hold_) return held_.push_back(std::move(done));
            if (fail_) return done(Error(Errc::unavailable, "connection refused"));
            done(document_);
          },
          clock_);
    }
    return Sync{*verifier_};
  }

  json claims(const std::string& sub = "alice") const {
    auto now = clock_.now_sec();
    return json{{"iss", kIssuer}, {"aud", kAudience}, {"sub", sub}, {"iat", now}, {"nbf", now}, {"exp", now + 300}};
  }

  void expect_invalid(const std::string& token, const std::string& why_contains) {
    auto r = verifier().verify(token);
    ASSERT_FALSE(r.ok()) << "accepted: " << token;
    EXPECT_EQ(r.error().code, Errc::invalid_token) << r.error().message;
    EXPECT_NE(r.error().message.find(why_contains), std::string::npos) << r.error().message;
  }

  ManualClock clock_;
  JwksSettings settings_;
  std::string document_;
  bool fail_ = false;
  bool hold_ = false;
  std::vector<JwksVerifier::Fetched> held_;
  int fetches_ = 0;
  std::unique_ptr<JwksVerifier> verifier_;
};

TEST_F(Jwks, AcceptsRs256AndMapsClaims) {
  auto c = claims("abc-123");
  c["preferred_username"] = "alice";
  c["name"] = "Alice A.";
  auto r = verifier().verify(rsa().sign(c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sub, "ext_abc-123");
  EXPECT_EQ(r->name, "alice");
  EXPECT_EQ(r->role, "user");
  EXPECT_EQ(r->iss, kIssuer);
  EXPECT_EQ(r->aud, kAudience);
  EXPECT_EQ(fetches_, 1);
}

TEST_F(Jwks, AcceptsEs256) {
  auto r = verifier().verify(ec().sign(claims()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sub, "ext_alice");
  EXPECT_EQ(r->name, "alice") << "falls back to sub";
}

TEST_F(Jwks, NameFallsBackToNameClaim) {
  auto c = claims();
  c["name"] = "Alice A.";
  auto r = verifier().verify(ec().sign(c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "Alice A.");
}

TEST_F(Jwks, AdminOnlyFromConfiguredRoleClaim) {
  auto c = claims();
  c["roles"] = json::array({"viewer", "admin"});
  auto r = verifier().verify(rsa().sign(c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->role, "admin");

  c = claims();
  c["roles"] = "admin";
  EXPECT_EQ(verifier().verify(rsa().sign(c))->role, "admin");

  c = claims();
  c["role"] = "admin";  // the platform's own claim name means nothing from outside
  c["roles"] = json::array({"viewer"});
  EXPECT_EQ(verifier().verify(rsa().sign(c))->role, "user");
}

TEST_F(Jwks, RoleClaimMayBeANestedPath) {
  settings_.role_claim = "realm_access.roles";
  auto c = claims();
  c["realm_access"] = json{{"roles", json::array({"admin"})}};
  EXPECT_EQ(verifier().verify(rsa().sign(c))->role, "admin");
  c["realm_access"] = json{{"roles", json::array({"user"})}};
  EXPECT_EQ(verifier().verify(rsa().sign(c))->role, "user");
}

TEST_F(Jwks, AudienceMayBeAnArray) {
  auto c = claims();
  c["aud"] = json::array({"other", kAudience});
  EXPECT_TRUE(verifier().verify(rsa().sign(c)).ok());
  c["aud"] = json::array({"other"});
  expect_invalid(rsa().sign(c), "audience");
}

TEST_F(Jwks, RejectsTamperedPayload) {
  auto token = rsa().sign(claims("alice"));
  auto dot1 = token.find('.'), dot2 = token.rfind('.');
  auto forged = token.substr(0, dot1 + 1) + base64url_encode(claims("mallory").dump()) + token.substr(dot2);
  expect_invalid(forged, "signature");

  token = ec().sign(claims("alice"));
  dot1 = token.find('.');
  dot2 = token.rfind('.');
  forged = token.substr(0, dot1 + 1) + base64url_encode(claims("mallory").dump()) + token.substr(dot2);
  expect_invalid(forged, "signature");
}

TEST_F(Jwks, RejectsTamperedSignature) {
  for (const auto* key : {&rsa(), &ec()}) {
    SCOPED_TRACE(key->alg());
    auto token = key->sign(claims());
    auto dot2 = token.rfind('.');
    auto sig = *base64url_decode(token.substr(dot2 + 1));
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
    expect_invalid(token.substr(0, dot2 + 1) + base64url_encode(sig), "signature");
    expect_invalid(token.substr(0, dot2 + 1), "signature");  // no signature at all
  }
}

TEST_F(Jwks, RejectsEs256SignatureInDerForm) {
  // OpenSSL's native ECDSA output is DER; JOSE requires raw r || s, so DER must not verify.
  auto token = ec().sign(claims());
  auto dot2 = token.rfind('.');
  auto raw = *base64url_decode(token.substr(dot2 + 1));
  auto* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(es, &der);
  std::string der_sig(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  expect_invalid(token.substr(0, dot2 + 1) + base64url_encode(der_sig), "signature");
}

TEST_F(Jwks, RejectsWrongIssuerAndAudience) {
  auto c = claims();
  c["iss"] = "https://evil.example";
  expect_invalid(rsa().sign(c), "issuer");
  c = claims();
  c.erase("iss");
  expect_invalid(rsa().sign(c), "issuer");
  c = claims();
  c["aud"] = "someone-else";
  expect_invalid(rsa().sign(c), "audience");
  c = claims();
  c.erase("aud");
  expect_invalid(rsa().sign(c), "audience");
}

TEST_F(Jwks, ExpiredTokenIsTokenExpiredAfterLeeway) {
  auto c = claims();
  c["exp"] = clock_.now_sec() - 10;  // within the 30 s leeway
  EXPECT_TRUE(verifier().verify(rsa().sign(c)).ok());
  c["exp"] = clock_.now_sec() - 31;
  auto r = verifier().verify(rsa().sign(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::token_expired);
  c.erase("exp");
  expect_invalid(rsa().sign(c), "expiry");
}

TEST_F(Jwks, RejectsNotYetValidAndFutureIssued) {
  auto c = claims();
  c["nbf"] = clock_.now_sec() + 60;
  expect_invalid(rsa().sign(c), "not valid yet");
  c = claims();
  c["iat"] = clock_.now_sec() + 60;
  expect_invalid(rsa().sign(c), "future");
  c = claims();
  c["nbf"] = clock_.now_sec() + 20;  // within leeway
  EXPECT_TRUE(verifier().verify(rsa().sign(c)).ok());
}

TEST_F(Jwks, RejectsAlgNone) {
  expect_invalid(test::unsigned_token(claims(), json{{"kid", rsa().kid()}}), "algorithm");
  expect_invalid(rsa().sign(claims(), json{{"alg", "none"}}), "algorithm");
}

TEST_F(Jwks, RejectsHs256KeyedWithThePublicKey) {
  // Algorithm confusion: an HMAC whose key is the provider's public key, which anyone can read.
  auto token = test::hs256_token(rsa().public_pem(), claims(), json{{"kid", rsa().kid()}});
  expect_invalid(token, "algorithm");
  token = test::hs256_token(rsa().jwk().dump(), claims(), json{{"kid", rsa().kid()}});
  expect_invalid(token, "algorithm");
}

TEST_F(Jwks, RejectsAlgTheKeyDoesNotDeclare) {
  // A token claiming ES256 with the RSA key's kid, and the other way round.
  expect_invalid(ec().sign(claims(), json{{"kid", rsa().kid()}}), "does not match");
  expect_invalid(rsa().sign(claims(), json{{"kid", ec().kid()}}), "does not match");
  expect_invalid(rsa().sign(claims(), json{{"alg", "RS384"}}), "algorithm");
}

TEST_F(Jwks, RejectsUnknownAndMissingKid) {
  expect_invalid(rotated().sign(claims()), "unknown");
  expect_invalid(rsa().sign(claims(), json{{"kid", nullptr}}), "key id");
}

TEST_F(Jwks, RejectsUnusableSubjects) {
  for (const std::string& sub :
       {std::string(""), std::string("auth0|123"), std::string("a b"), std::string(kMaxExternalSubject + 1, 'a')}) {
    SCOPED_TRACE(sub);
    expect_invalid(rsa().sign(claims(sub)), "subject");
  }
  auto c = claims();
  c["sub"] = 42;
  expect_invalid(rsa().sign(c), "subject");
  EXPECT_TRUE(verifier().verify(rsa().sign(claims(std::string(kMaxExternalSubject, 'a')))).ok());
}

TEST_F(Jwks, RejectsMalformedTokens) {
  for (const std::string& t : {std::string("abc"), std::string("a.b"), std::string("a.b.c.d"), std::string("!!.b.c"),
                               rsa().sign(claims()) + "="}) {
    SCOPED_TRACE(t);
    EXPECT_FALSE(verifier().verify(t).ok());
  }
}

TEST_F(Jwks, UnknownKidRefetchesAndFindsRotatedKey) {
  ASSERT_TRUE(verifier().refresh().ok());
  EXPECT_EQ(fetches_, 1);
  clock_.advance_ms(settings_.refresh_min_interval_ms);
  document_ = test::jwks_of({&rsa(), &rotated()});  // the provider rotates
  auto r = verifier().verify(rotated().sign(claims()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(fetches_, 2);
  EXPECT_FALSE(verifier().verify(ec().sign(claims())).ok()) << "the EC key was rotated out";
}

TEST_F(Jwks, UnknownKidRefetchIsRateLimited) {
  ASSERT_TRUE(verifier().refresh().ok());
  document_ = test::jwks_of({&rsa(), &rotated()});
  // Within the interval: a made-up kid does not cause a fetch, so neither does the real new one.
  for (int i = 0; i < 5; ++i)
    expect_invalid(rsa().sign(claims(), json{{"kid", "made-up-" + std::to_string(i)}}), "unknown");
  expect_invalid(rotated().sign(claims()), "unknown");
  EXPECT_EQ(fetches_, 1);
  clock_.advance_ms(settings_.refresh_min_interval_ms - 1);
  expect_invalid(rotated().sign(claims()), "unknown");
  EXPECT_EQ(fetches_, 1);
  clock_.advance_ms(1);
  EXPECT_TRUE(verifier().verify(rotated().sign(claims())).ok());
  EXPECT_EQ(fetches_, 2);
  // The refetch itself restarts the interval.
  expect_invalid(rsa().sign(claims(), json{{"kid", "made-up-again"}}), "unknown");
  EXPECT_EQ(fetches_, 2);
}

TEST_F(Jwks, KnownKidDoesNotFetch) {
  ASSERT_TRUE(verifier().refresh().ok());
  for (int i = 0; i < 3; ++i) {
    clock_.advance_ms(settings_.refresh_min_interval_ms);
    EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());
  }
  EXPECT_EQ(fetches_, 1);
}

TEST_F(Jwks, FailedFetchKeepsOldKeys) {
  ASSERT_TRUE(verifier().refresh().ok());
  fail_ = true;
  auto st = verifier().refresh();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("connection refused"), std::string::npos);
  EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());
  EXPECT_TRUE(verifier().verify(ec().sign(claims())).ok());

  fail_ = false;
  document_ = "<html>not json</html>";
  EXPECT_FALSE(verifier().refresh().ok());
  document_ = R"({"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]})";  // nothing usable
  EXPECT_FALSE(verifier().refresh().ok());
  EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());

  auto stats = verifier().stats();
  EXPECT_EQ(stats.fetch_ok, 1u);
  EXPECT_EQ(stats.fetch_error, 1u);
  EXPECT_EQ(stats.fetch_invalid, 2u);
  EXPECT_EQ(stats.keys, 2u);
}

TEST_F(Jwks, FailedStartupFetchIsRetriedOnDemand) {
  fail_ = true;
  EXPECT_FALSE(verifier().refresh().ok());
  fail_ = false;
  expect_invalid(rsa().sign(claims()), "unknown");  // rate limited: the start-up attempt counts
  EXPECT_EQ(fetches_, 1);
  clock_.advance_ms(settings_.refresh_min_interval_ms);
  EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());
  EXPECT_EQ(fetches_, 2);
}

TEST_F(Jwks, StaleSetIsRefreshedInTheBackground) {
  ASSERT_TRUE(verifier().refresh().ok());
  hold_ = true;
  clock_.advance_ms(settings_.cache_ttl_ms - 1);
  EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());
  EXPECT_TRUE(held_.empty());
  clock_.advance_ms(1);
  document_ = test::jwks_of({&rotated()});
  // The stale set still verifies this request; the refresh runs behind it.
  EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());
  ASSERT_EQ(held_.size(), 1u);
  EXPECT_EQ(fetches_, 2);
  EXPECT_TRUE(verifier().verify(rsa().sign(claims())).ok());
  EXPECT_EQ(held_.size(), 1u) << "one refresh at a time";
  held_[0](document_);
  EXPECT_TRUE(verifier().verify(rotated().sign(claims())).ok());
}

TEST_F(Jwks, TokensWithAnUnknownKeyWaitForOneFetch) {
  ASSERT_TRUE(verifier().refresh().ok());
  clock_.advance_ms(settings_.refresh_min_interval_ms);
  document_ = test::jwks_of({&rsa(), &rotated()});
  hold_ = true;
  std::vector<Result<Claims>> answers;
  for (int i = 0; i < 3; ++i)
    verifier_->verify(rotated().sign(claims()), [&answers](Result<Claims> r) { answers.push_back(std::move(r)); });
  EXPECT_TRUE(answers.empty()) << "they wait for the key set";
  ASSERT_EQ(held_.size(), 1u) << "one fetch for all of them";
  held_[0](document_);
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& a : answers) EXPECT_TRUE(a.ok()) << a.error().message;
}

TEST_F(Jwks, AFetchThatEndsAfterTheVerifierIsHarmless) {
  ASSERT_TRUE(verifier().refresh().ok());
  clock_.advance_ms(settings_.refresh_min_interval_ms);
  hold_ = true;
  bool answered = false;
  verifier_->verify(rotated().sign(claims()), [&answered](Result<Claims> r) {
    answered = true;
    EXPECT_FALSE(r.ok());
  });
  ASSERT_EQ(held_.size(), 1u);
  verifier_.reset();
  held_[0](document_);
  EXPECT_TRUE(answered);
}

TEST(JwksParse, SkipsKeysItCannotUseWithAReason) {
  TestKey small_ok("ok", "ES256");
  auto no_alg = rsa().jwk(false);
  no_alg["kid"] = "no-alg";
  auto enc = rsa().jwk();
  enc["kid"] = "enc";
  enc["use"] = "enc";
  auto wrong_alg = rsa().jwk();
  wrong_alg["kid"] = "wrong-alg";
  wrong_alg["alg"] = "HS256";
  auto no_kid = ec().jwk();
  no_kid.erase("kid");
  auto other_curve = ec().jwk();
  other_curve["kid"] = "p384";
  other_curve["crv"] = "P-384";
  auto off_curve = ec().jwk();
  off_curve["kid"] = "off-curve";
  off_curve["y"] = base64url_encode(std::string(32, '\x01'));
  auto short_rsa = rsa().jwk();
  short_rsa["kid"] = "short";
  short_rsa["n"] = base64url_encode(std::string(128, '\xff'));  // 1024 bits
  json doc{{"keys", json::array({small_ok.jwk(), no_alg, enc, wrong_alg, no_kid, other_curve, off_curve, short_rsa,
                                 json{{"kty", "oct"}, {"kid", "sym"}, {"k", "c2VjcmV0"}}, small_ok.jwk(), "junk"})}};
  auto set = parse_jwks(doc.dump());
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_EQ(set->keys.size(), 2u);
  EXPECT_EQ(set->keys[0].kid, "ok");
  EXPECT_EQ(set->keys[0].alg, "ES256");
  EXPECT_EQ(set->keys[1].kid, "no-alg");
  EXPECT_EQ(set->keys[1].alg, "RS256") << "alg follows from kty when absent";
  ASSERT_EQ(set->skipped.size(), 9u);
  auto skipped = [&](const std::string& what) {
    for (const auto& s : set->skipped) {
      if (s.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(skipped("use is not sig"));
  EXPECT_TRUE(skipped("alg is not RS256"));
  EXPECT_TRUE(skipped("no kid"));
  EXPECT_TRUE(skipped("not P-256"));
  EXPECT_TRUE(skipped("(kid off-curve)"));
  EXPECT_TRUE(skipped("shorter than 2048"));
  EXPECT_TRUE(skipped("kty 'oct'"));
  EXPECT_TRUE(skipped("duplicate kid"));
  EXPECT_TRUE(skipped("not an object"));
}

TEST(JwksParse, RejectsDocumentsThatAreNotAKeySet) {
  EXPECT_FALSE(parse_jwks("").ok());
  EXPECT_FALSE(parse_jwks("[]").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})").ok());
  EXPECT_TRUE(parse_jwks(R"({"keys":[]})").ok());
}

TEST(JwksTokenAlg, ReadsTheHeader) {
  EXPECT_EQ(token_alg(rsa().sign(json{{"sub", "x"}})), "RS256");
  EXPECT_EQ(token_alg(ec().sign(json{{"sub", "x"}})), "ES256");
  EXPECT_EQ(token_alg(test::hs256_token("k", json{{"sub", "x"}})), "HS256");
  EXPECT_EQ(token_alg("garbage"), "");
  EXPECT_EQ(token_alg("!!.x.y"), "");
}

}  // namespace
}  // namespace tacos::auth

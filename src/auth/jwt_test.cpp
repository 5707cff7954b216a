#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.hpp"
#include "common/encoding.hpp"

namespace tacos::auth {
namespace {

using nlohmann::json;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-test";

JwtSettings settings(std::string secret = kSecret) {
  JwtSettings s;
  s.secret = std::move(secret);
  s.issuer = "traffic-tacos";
  s.audience = "traffic-tacos-api";
  s.ttl_sec = 3600;
  s.leeway_sec = 30;
  return s;
}

// Builds a token by hand so tests can produce what HsJwt itself never would.
std::string craft(const json& header, const json& payload, const std::string& secret = kSecret) {
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

json hs256_header() { return {{"alg", "HS256"}, {"typ", "JWT"}}; }

class JwtTest : public ::testing::Test {
 protected:
  json valid_payload() const {
    std::int64_t now = clock_.now_sec();
    return {{"sub", "u-1"}, {"role", "user"}, {"iss", "traffic-tacos"}, {"aud", "traffic-tacos-api"},
            {"iat", now},   {"nbf", now},     {"exp", now + 600}};
  }
  Claims valid_claims() const {
    Claims c;
    c.sub = "u-1";
    c.role = "user";
    c.iss = "traffic-tacos";
    c.aud = "traffic-tacos-api";
    c.iat = clock_.now_sec();
    c.nbf = c.iat;
    c.exp = c.iat + 600;
    return c;
  }
  void expect_invalid(const std::string& token, const std::string& message_part = {}) const {
    auto r = jwt_.verify(token);
    ASSERT_FALSE(r.ok()) << token;
    EXPECT_EQ(r.error().code, Errc::invalid_token) << r.error().message;
    if (!message_part.empty()) {
      EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error().message;
    }
  }

  ManualClock clock_;
  HsJwt jwt_{settings(), clock_};
};

TEST_F(JwtTest, SignedTokenVerifiesWithAllClaims) {
  auto token = jwt_.sign("u-42", "admin", "ana");
  auto r = jwt_.verify(token);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sub, "u-42");
  EXPECT_EQ(r->role, "admin");
  EXPECT_EQ(r->name, "ana");
  EXPECT_EQ(r->iss, "traffic-tacos");
  EXPECT_EQ(r->aud, "traffic-tacos-api");
  EXPECT_EQ(r->iat, clock_.now_sec());
  EXPECT_EQ(r->nbf, clock_.now_sec());
  EXPECT_EQ(r->exp, clock_.now_sec() + 3600);
  EXPECT_EQ(jwt_.ttl_sec(), 3600);
}

TEST_F(JwtTest, TokenHasThreeUnpaddedBase64urlParts) {
  auto token = jwt_.sign("u-42", "user", "ana");
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_EQ(token.find_first_of("+/= "), std::string::npos);
  auto header = base64url_decode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(json::parse(*header)["alg"], "HS256");
}

TEST_F(JwtTest, SignClaimsRoundTrips) {
  auto c = valid_claims();
  c.name = "bob";
  auto r = jwt_.verify(jwt_.sign_claims(c));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sub, c.sub);
  EXPECT_EQ(r->name, "bob");
  EXPECT_EQ(r->exp, c.exp);
}

TEST_F(JwtTest, HandCraftedValidTokenVerifies) {
  // Guards the crafting helper: the rejections below fail for the reason they claim.
  auto r = jwt_.verify(craft(hs256_header(), valid_payload()));
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST_F(JwtTest, RejectsAlgNone) {
  json header = {{"alg", "none"}, {"typ", "JWT"}};
  std::string unsigned_token = base64url_encode(header.dump()) + "." + base64url_encode(valid_payload().dump()) + ".";
  expect_invalid(unsigned_token, "algorithm");
  // Even with a correct HS256 signature attached.
  expect_invalid(craft(header, valid_payload()), "algorithm");
  expect_invalid(craft({{"alg", "None"}}, valid_payload()), "algorithm");
}

TEST_F(JwtTest, RejectsOtherAlgorithms) {
  expect_invalid(craft({{"alg", "HS512"}, {"typ", "JWT"}}, valid_payload()), "algorithm");
  expect_invalid(craft({{"alg", "RS256"}, {"typ", "JWT"}}, valid_payload()), "algorithm");
  expect_invalid(craft({{"alg", "hs256"}}, valid_payload()), "algorithm");
  expect_invalid(craft({{"typ", "JWT"}}, valid_payload()), "algorithm");
  expect_invalid(craft({{"alg", 256}}, valid_payload()), "algorithm");
}

TEST_F(JwtTest, RejectsNonJsonHeader) {
  std::string input = base64url_encode("not json") + "." + base64url_encode(valid_payload().dump());
  expect_invalid(input + "." + base64url_encode(hmac_sha256(kSecret, input)), "header");
}

TEST_F(JwtTest, RejectsTamperedPayload) {
  auto token = jwt_.sign("u-42", "user", "ana");
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  auto payload = valid_payload();
  payload["sub"] = "u-42";
  payload["role"] = "admin";
  std::string forged = token.substr(0, dot1 + 1) + base64url_encode(payload.dump()) + token.substr(dot2);
  expect_invalid(forged, "signature");
}

TEST_F(JwtTest, RejectsTamperedSignature) {
  auto token = jwt_.sign("u-42", "user", "ana");
  auto dot2 = token.rfind('.');
  std::string forged = token;
  forged[dot2 + 1] = forged[dot2 + 1] == 'A' ? 'B' : 'A';
  expect_invalid(forged, "signature");
  expect_invalid(token.substr(0, dot2 + 1), "signature");  // signature removed
  expect_invalid(token.substr(0, token.size() - 4), "");   // signature truncated
}

TEST_F(JwtTest, RejectsTokenSignedWithAnotherSecret) {
  HsJwt other(settings("another-secret-another-secret-another"), clock_);
  expect_invalid(other.sign("u-42", "admin", "ana"), "signature");
}

TEST_F(JwtTest, RejectsWrongIssuer) {
  auto s = settings();
  s.issuer = "someone-else";
  HsJwt other(s, clock_);
  expect_invalid(other.sign("u-42", "user", "ana"), "issuer");
  auto p = valid_payload();
  p.erase("iss");
  expect_invalid(craft(hs256_header(), p), "issuer");
}

TEST_F(JwtTest, RejectsWrongAudience) {
  auto s = settings();
  s.audience = "another-api";
  HsJwt other(s, clock_);
  expect_invalid(other.sign("u-42", "user", "ana"), "audience");
  auto p = valid_payload();
  p.erase("aud");
  expect_invalid(craft(hs256_header(), p), "audience");
}

TEST_F(JwtTest, AcceptsAudienceArrayContainingOurs) {
  auto p = valid_payload();
  p["aud"] = {"billing-api", "traffic-tacos-api"};
  auto r = jwt_.verify(craft(hs256_header(), p));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->aud, "traffic-tacos-api");
}

TEST_F(JwtTest, RejectsAudienceArrayWithoutOurs) {
  auto p = valid_payload();
  p["aud"] = {"billing-api", "other-api"};
  expect_invalid(craft(hs256_header(), p), "audience");
  p["aud"] = json::array();
  expect_invalid(craft(hs256_header(), p), "audience");
}

TEST_F(JwtTest, ExpiresAfterTtlPlusLeeway) {
  auto token = jwt_.sign("u-42", "user", "ana");
  clock_.advance_ms((3600 + 30 - 1) * 1000);
  EXPECT_TRUE(jwt_.verify(token).ok());
  clock_.advance_ms(1000);
  auto r = jwt_.verify(token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::token_expired);
}

TEST_F(JwtTest, RejectsTokenExpiredLongAgo) {
  auto c = valid_claims();
  c.iat = clock_.now_sec() - 7200;
  c.nbf = c.iat;
  c.exp = clock_.now_sec() - 3600;
  auto r = jwt_.verify(jwt_.sign_claims(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::token_expired);
}

TEST_F(JwtTest, RejectsNotYetValidBeyondLeeway) {
  auto c = valid_claims();
  c.nbf = clock_.now_sec() + 31;
  c.exp = clock_.now_sec() + 3600;
  auto token = jwt_.sign_claims(c);
  expect_invalid(token, "not valid yet");
  clock_.advance_ms(1000);
  EXPECT_TRUE(jwt_.verify(token).ok());
}

TEST_F(JwtTest, AcceptsNotBeforeWithinLeeway) {
  auto c = valid_claims();
  c.nbf = clock_.now_sec() + 30;
  EXPECT_TRUE(jwt_.verify(jwt_.sign_claims(c)).ok());
}

TEST_F(JwtTest, RejectsIssuedInTheFuture) {
  auto c = valid_claims();
  c.iat = clock_.now_sec() + 31;
  c.nbf = 0;
  c.exp = clock_.now_sec() + 3600;
  expect_invalid(jwt_.sign_claims(c), "future");
  c.iat = clock_.now_sec() + 30;
  EXPECT_TRUE(jwt_.verify(jwt_.sign_claims(c)).ok());
}

TEST_F(JwtTest, RejectsMalformedTokens) {
  auto token = jwt_.sign("u-42", "user", "ana");
  expect_invalid("", "not a JWT");
  expect_invalid("abc", "not a JWT");
  expect_invalid(token.substr(0, token.rfind('.')), "not a JWT");  // 2 parts
  expect_invalid(token + ".e30", "not a JWT");                     // 4 parts
  expect_invalid("..", "");
  expect_invalid("!!!.???.***", "base64url");
  std::string std_alphabet = token;
  std_alphabet[std_alphabet.rfind('.') + 1] = '+';
  expect_invalid(std_alphabet, "base64url");
}

TEST_F(JwtTest, RejectsPaddedSegments) {
  // JWS segments are unpadded; accepting '=' would give one token several valid spellings.
  auto token = jwt_.sign("u-42", "user", "ana");
  ASSERT_TRUE(jwt_.verify(token).ok());
  expect_invalid(token + "=", "base64url");
  auto dot1 = token.find('.');
  expect_invalid(token.substr(0, dot1) + "=" + token.substr(dot1), "base64url");
}

TEST_F(JwtTest, RejectsMissingExpiry) {
  auto p = valid_payload();
  p.erase("exp");
  expect_invalid(craft(hs256_header(), p), "expiry");
  p["exp"] = "tomorrow";
  expect_invalid(craft(hs256_header(), p), "expiry");
  p["exp"] = 1.0e12;
  expect_invalid(craft(hs256_header(), p), "expiry");
}

TEST_F(JwtTest, RejectsMissingSubject) {
  auto p = valid_payload();
  p.erase("sub");
  expect_invalid(craft(hs256_header(), p), "subject");
  p["sub"] = "";
  expect_invalid(craft(hs256_header(), p), "subject");
  p["sub"] = 42;
  expect_invalid(craft(hs256_header(), p), "subject");
}

TEST_F(JwtTest, RejectsNonObjectPayload) { expect_invalid(craft(hs256_header(), json::array({1, 2})), "payload"); }

}  // namespace
}  // namespace tacos::auth

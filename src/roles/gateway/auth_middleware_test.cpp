#include "roles/gateway/auth_middleware.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_idp.hpp"

namespace tacos::gateway {
namespace {

using nlohmann::json;

const test::TestKey& idp_key() {  // RSA key generation is slow: one for the file
  static const test::TestKey k("idp-1", "RS256");
  return k;
}

class AuthDispatch : public ::testing::Test {
 protected:
  AuthDispatch()
      : hs_({std::string(32, 'k'), "traffic-tacos", "traffic-tacos-api", 3600, 30}, clock_),
        idp_key_(idp_key()),
        jwks_(
            {"https://idp.example", "tacos-api"}, [this] { return Result<std::string>(test::jwks_of({&idp_key_})); },
            clock_) {}

  json external_claims(json roles = json::array()) const {
    auto now = clock_.now_sec();
    return json{{"iss", "https://idp.example"},
                {"aud", "tacos-api"},
                {"sub", "u-42"},
                {"exp", now + 60},
                {"roles", std::move(roles)}};
  }

  net::Request request(const std::string& path, const std::string& token) {
    net::Request req;
    req.path = path;
    req.route = path;
    req.headers = {{"authorization", "Bearer " + token}};
    return req;
  }

  ManualClock clock_;
  auth::HsJwt hs_;
  const test::TestKey& idp_key_;
  auth::JwksVerifier jwks_;
};

TEST_F(AuthDispatch, PlatformTokensStillWork) {
  AuthMiddleware mw(hs_, &jwks_);
  auto req = request("/api/v1/reservations", hs_.sign("usr_1", "user", "alice"));
  EXPECT_FALSE(mw.before(req).has_value());
  EXPECT_EQ(req.identity.user_id, "usr_1");
  EXPECT_EQ(req.identity.role, "user");
}

TEST_F(AuthDispatch, ARememberedTokenStillExpires) {
  AuthMiddleware mw(hs_, &jwks_);
  auto token = hs_.sign("usr_1", "user", "alice");  // valid for 3600 s, 30 s leeway
  auto first = request("/api/v1/reservations", token);
  EXPECT_FALSE(mw.before(first).has_value());
  EXPECT_EQ(first.identity.user_id, "usr_1");
  clock_.advance_ms(3'000'000);  // within the lifetime: answered from the cache or not, the same
  auto again = request("/api/v1/reservations", token);
  EXPECT_FALSE(mw.before(again).has_value());
  EXPECT_EQ(again.identity.user_id, "usr_1");
  clock_.advance_ms(631'000);  // past exp + leeway
  auto late = request("/api/v1/reservations", token);
  EXPECT_FALSE(mw.before(late).has_value());
  EXPECT_FALSE(late.identity.authenticated());
  EXPECT_EQ(late.auth_error.code, Errc::token_expired);
}

TEST_F(AuthDispatch, AForgedTokenIsRefusedEvenAfterTheGenuineOne) {
  AuthMiddleware mw(hs_, &jwks_);
  auto token = hs_.sign("usr_1", "user", "alice");
  auto genuine = request("/api/v1/reservations", token);
  EXPECT_FALSE(mw.before(genuine).has_value());
  auto forged_token = token;
  auto& c = forged_token[forged_token.size() - 10];  // inside the signature, not its last bits
  c = c == 'A' ? 'B' : 'A';
  auto forged = request("/api/v1/reservations", forged_token);
  EXPECT_FALSE(mw.before(forged).has_value());
  EXPECT_FALSE(forged.identity.authenticated());
  EXPECT_EQ(forged.auth_error.code, Errc::invalid_token);
}

TEST_F(AuthDispatch, ExternalTokenGetsPrefixedUserId) {
  AuthMiddleware mw(hs_, &jwks_);
  auto req = request("/api/v1/reservations", idp_key_.sign(external_claims()));
  EXPECT_FALSE(mw.before(req).has_value());
  EXPECT_EQ(req.identity.user_id, "ext_u-42");
  EXPECT_EQ(req.identity.role, "user");
}

TEST_F(AuthDispatch, ExternalTokenIsRefusedWithoutAnIdentityProvider) {
  AuthMiddleware mw(hs_);
  auto req = request("/api/v1/reservations", idp_key_.sign(external_claims()));
  EXPECT_FALSE(mw.before(req).has_value());
  EXPECT_FALSE(req.identity.authenticated());
  EXPECT_EQ(req.auth_error.code, Errc::invalid_token);
}

TEST_F(AuthDispatch, ExternalAdminNeedsTheRoleClaim) {
  AuthMiddleware mw(hs_, &jwks_);
  auto req = request("/api/v1/admin/invariants", idp_key_.sign(external_claims()));
  auto denied = mw.before(req);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 403);

  auto admin = request("/api/v1/admin/invariants", idp_key_.sign(external_claims(json::array({"admin"}))));
  EXPECT_FALSE(mw.before(admin).has_value());
  EXPECT_TRUE(admin.identity.is_admin());
}

TEST_F(AuthDispatch, HmacWithThePublicKeyIsRefused) {
  // HS256 goes to the platform verifier, whose secret the attacker does not know.
  AuthMiddleware mw(hs_, &jwks_);
  auto claims = external_claims(json::array({"admin"}));
  auto req = request("/api/v1/admin/invariants", test::hs256_token(idp_key_.public_pem(), claims, {{"kid", "idp-1"}}));
  auto denied = mw.before(req);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 401);
}

}  // namespace
}  // namespace tacos::gateway

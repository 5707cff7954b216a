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
            {"https://idp.example", "tacos-api"},
            [this](auth::JwksVerifier::Fetched done) {
              ++fetches_;
              if (hold_fetch_)
                held_ = std::move(done);
              else
                done(test::jwks_of({&idp_key_}));
            },
            clock_) {}

  // Runs the middleware the way the server does; the outcome is known once `next` is called.
  struct Outcome {
    bool called = false;
    std::optional<net::Response> response;
  };
  std::shared_ptr<Outcome> start(AuthMiddleware& mw, net::Request& req) {
    auto out = std::make_shared<Outcome>();
    if (!mw.asynchronous(req)) {
      out->response = mw.before(req);
      out->called = true;
    } else {
      mw.before_async(req, [out](std::optional<net::Response> r) {
        out->response = std::move(r);
        out->called = true;
      });
    }
    return out;
  }
  std::optional<net::Response> run(AuthMiddleware& mw, net::Request& req) {
    auto out = start(mw, req);
    EXPECT_TRUE(out->called) << "the middleware has not finished";
    return std::move(out->response);
  }

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
  int fetches_ = 0;
  bool hold_fetch_ = false;
  auth::JwksVerifier::Fetched held_;
  auth::JwksVerifier jwks_;
};

TEST_F(AuthDispatch, PlatformTokensStillWork) {
  AuthMiddleware mw(hs_, &jwks_);
  auto req = request("/api/v1/reservations", hs_.sign("usr_1", "user", "alice"));
  EXPECT_FALSE(run(mw, req).has_value());
  EXPECT_EQ(req.identity.user_id, "usr_1");
  EXPECT_EQ(req.identity.role, "user");
}

TEST_F(AuthDispatch, ARememberedTokenStillExpires) {
  AuthMiddleware mw(hs_, &jwks_);
  auto token = hs_.sign("usr_1", "user", "alice");  // valid for 3600 s, 30 s leeway
  auto first = request("/api/v1/reservations", token);
  EXPECT_FALSE(run(mw, first).has_value());
  EXPECT_EQ(first.identity.user_id, "usr_1");
  clock_.advance_ms(3'000'000);  // within the lifetime: answered from the cache or not, the same
  auto again = request("/api/v1/reservations", token);
  EXPECT_FALSE(run(mw, again).has_value());
  EXPECT_EQ(again.identity.user_id, "usr_1");
  clock_.advance_ms(631'000);  // past exp + leeway
  auto late = request("/api/v1/reservations", token);
  EXPECT_FALSE(run(mw, late).has_value());
  EXPECT_FALSE(late.identity.authenticated());
  EXPECT_EQ(late.auth_error.code, Errc::token_expired);
}

TEST_F(AuthDispatch, AForgedTokenIsRefusedEvenAfterTheGenuineOne) {
  AuthMiddleware mw(hs_, &jwks_);
  auto token = hs_.sign("usr_1", "user", "alice");
  auto genuine = request("/api/v1/reservations", token);
  EXPECT_FALSE(run(mw, genuine).has_value());
  auto forged_token = token;
  auto& c = forged_token[forged_token.size() - 10];  // inside the signature, not its last bits
  c = c == 'A' ? 'B' : 'A';
  auto forged = request("/api/v1/reservations", forged_token);
  EXPECT_FALSE(run(mw, forged).has_value());
  EXPECT_FALSE(forged.identity.authenticated());
  EXPECT_EQ(forged.auth_error.code, Errc::invalid_token);
}

TEST_F(AuthDispatch, ExternalTokenGetsPrefixedUserId) {
  AuthMiddleware mw(hs_, &jwks_);
  auto req = request("/api/v1/reservations", idp_key_.sign(external_claims()));
  EXPECT_FALSE(run(mw, req).has_value());
  EXPECT_EQ(req.identity.user_id, "ext_u-42");
  EXPECT_EQ(req.identity.role, "user");
}

TEST_F(AuthDispatch, ExternalTokenIsRefusedWithoutAnIdentityProvider) {
  AuthMiddleware mw(hs_);
  auto req = request("/api/v1/reservations", idp_key_.sign(external_claims()));
  EXPECT_FALSE(run(mw, req).has_value());
  EXPECT_FALSE(req.identity.authenticated());
  EXPECT_EQ(req.auth_error.code, Errc::invalid_token);
}

TEST_F(AuthDispatch, ExternalAdminNeedsTheRoleClaim) {
  AuthMiddleware mw(hs_, &jwks_);
  auto req = request("/api/v1/admin/invariants", idp_key_.sign(external_claims()));
  auto denied = run(mw, req);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 403);

  auto admin = request("/api/v1/admin/invariants", idp_key_.sign(external_claims(json::array({"admin"}))));
  EXPECT_FALSE(run(mw, admin).has_value());
  EXPECT_TRUE(admin.identity.is_admin());
}

TEST_F(AuthDispatch, OnlyProviderTokensWait) {
  AuthMiddleware mw(hs_, &jwks_);
  auto platform = request("/api/v1/reservations", hs_.sign("usr_1", "user", "alice"));
  EXPECT_FALSE(mw.asynchronous(platform));
  net::Request anonymous;
  EXPECT_FALSE(mw.asynchronous(anonymous));
  auto external = request("/api/v1/reservations", idp_key_.sign(external_claims()));
  EXPECT_TRUE(mw.asynchronous(external));
  AuthMiddleware without_provider(hs_);
  EXPECT_FALSE(without_provider.asynchronous(external));
}

TEST_F(AuthDispatch, AnUnknownKeyWaitsForTheFetchAndTheAnswerIsRemembered) {
  AuthMiddleware mw(hs_, &jwks_);
  hold_fetch_ = true;
  auto token = idp_key_.sign(external_claims());
  auto req = request("/api/v1/reservations", token);
  auto out = start(mw, req);
  EXPECT_FALSE(out->called) << "the key set is still being fetched";
  ASSERT_TRUE(held_);
  auto done = std::move(held_);
  done(test::jwks_of({&idp_key_}));
  ASSERT_TRUE(out->called);
  EXPECT_FALSE(out->response.has_value());
  EXPECT_EQ(req.identity.user_id, "ext_u-42");
  auto again = request("/api/v1/reservations", token);
  EXPECT_FALSE(run(mw, again).has_value());
  EXPECT_EQ(again.identity.user_id, "ext_u-42");
  EXPECT_EQ(fetches_, 1);
}

TEST_F(AuthDispatch, HmacWithThePublicKeyIsRefused) {
  // HS256 goes to the platform verifier, whose secret the attacker does not know.
  AuthMiddleware mw(hs_, &jwks_);
  auto claims = external_claims(json::array({"admin"}));
  auto req = request("/api/v1/admin/invariants", test::hs256_token(idp_key_.public_pem(), claims, {{"kid", "idp-1"}}));
  auto denied = run(mw, req);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 401);
}

}  // namespace
}  // namespace tacos::gateway

// Browser-facing edge over HTTP: CORS preflights and headers, security headers on every answer.
#include <gtest/gtest.h>

#include "support/api_checks.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

class Edge : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { start_server(Env{{"TACOS_HTTP_CORS_ALLOWED_ORIGINS", "https://tickets.example"}}); }
  static void TearDownTestSuite() { stop_server(); }
};
TEST_F(Edge, PreflightFromTheAllowedOriginIsAnswered) {
  auto c = server_->client();
  auto r = c->request("OPTIONS", "/api/v1/reservations", {},
                      {{"origin", "https://tickets.example"},
                       {"access-control-request-method", "POST"},
                       {"access-control-request-headers", "authorization, idempotency-key"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://tickets.example");
  EXPECT_EQ(r.header("access-control-allow-credentials"), "true");
  EXPECT_NE(r.header("access-control-allow-headers").find("Idempotency-Key"), std::string_view::npos);
}

TEST_F(Edge, PreflightFromAnotherOriginIsRefused) {
  auto c = server_->client();
  auto r = c->request("OPTIONS", "/api/v1/reservations", {},
                      {{"origin", "https://evil.example"}, {"access-control-request-method", "POST"}});
  expect_error(r, 403, "FORBIDDEN");
  EXPECT_TRUE(r.header("access-control-allow-origin").empty());
}

TEST_F(Edge, ResponsesToTheAllowedOriginCarryCorsHeaders) {
  auto c = server_->client();
  auto r = c->get("/api/v1/events", {{"origin", "https://tickets.example"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://tickets.example");
  EXPECT_NE(r.header("access-control-expose-headers").find("X-Request-ID"), std::string_view::npos);
  auto other = c->get("/api/v1/events", {{"origin", "https://evil.example"}});
  EXPECT_TRUE(other.header("access-control-allow-origin").empty());
}

TEST_F(Edge, EveryAnswerCarriesSecurityHeaders) {
  auto c = server_->client();
  for (const char* path : {"/api/v1/events", "/nope", "/healthz"}) {
    auto r = c->get(path);
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << path;
    EXPECT_FALSE(r.header("referrer-policy").empty()) << path;
    EXPECT_TRUE(r.header("strict-transport-security").empty()) << path;  // not behind TLS here
  }
}

}  // namespace
}  // namespace tacos::test

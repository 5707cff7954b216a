#include "roles/gateway/edge_middleware.hpp"

#include <gtest/gtest.h>

namespace tacos::gateway {
namespace {

constexpr const char* kHeaders = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, X-Trace-Id";

net::Request preflight(std::string origin) {
  net::Request req;
  req.method = net::Method::options;
  req.path = "/api/v1/reservations";
  req.headers = {{"origin", std::move(origin)}, {"access-control-request-method", "POST"}};
  return req;
}

TEST(Cors, AnswersAPreflightFromAListedOrigin) {
  CorsMiddleware cors(CorsMiddleware::parse_origins("https://tickets.example, http://localhost:5173/"), kHeaders);
  auto req = preflight("http://localhost:5173");
  auto res = cors.before(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->header("access-control-allow-origin"), "http://localhost:5173");
  EXPECT_EQ(res->header("access-control-allow-credentials"), "true");
  EXPECT_NE(res->header("access-control-allow-headers").find("Idempotency-Key"), std::string_view::npos);
  EXPECT_NE(res->header("access-control-allow-headers").find("Authorization"), std::string_view::npos);
  EXPECT_NE(res->header("access-control-allow-headers").find("X-Request-ID"), std::string_view::npos);
}

TEST(Cors, AllowsTheConfiguredRequestHeaders) {
  CorsMiddleware cors({"https://tickets.example"}, "Authorization, X-Trace-Id, traceparent");
  auto req = preflight("https://tickets.example");
  auto res = cors.before(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->header("access-control-allow-headers"), "Authorization, X-Trace-Id, traceparent");
}

TEST(Cors, RefusesAPreflightFromAnotherOrigin) {
  CorsMiddleware cors({"https://tickets.example"}, kHeaders);
  auto req = preflight("https://evil.example");
  auto res = cors.before(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 403);
  EXPECT_TRUE(res->header("access-control-allow-origin").empty());
}

TEST(Cors, DecoratesActualRequestsOnlyForListedOrigins) {
  CorsMiddleware cors({"https://tickets.example"}, kHeaders);
  net::Request req;
  req.headers = {{"origin", "https://tickets.example"}};
  EXPECT_FALSE(cors.before(req).has_value());
  net::Response res(200, "{}");
  cors.after(req, res);
  EXPECT_EQ(res.header("access-control-allow-origin"), "https://tickets.example");
  EXPECT_EQ(res.header("vary"), "Origin");
  net::Request other;
  other.headers = {{"origin", "https://evil.example"}};
  net::Response res2(200, "{}");
  cors.after(other, res2);
  EXPECT_TRUE(res2.header("access-control-allow-origin").empty());
}

TEST(Cors, WildcardNeverComesWithCredentials) {
  CorsMiddleware cors({"*"}, kHeaders);
  auto req = preflight("https://anyone.example");
  auto res = cors.before(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->header("access-control-allow-origin"), "*");
  EXPECT_TRUE(res->header("access-control-allow-credentials").empty());
}

TEST(Cors, NoListMeansNoCors) {
  CorsMiddleware cors({}, kHeaders);
  auto req = preflight("https://tickets.example");
  EXPECT_EQ(cors.before(req)->status, 403);
}

TEST(SecurityHeaders, AreOnEveryResponseAndCspOnHtml) {
  SecurityHeadersMiddleware plain(false);
  net::Request req;
  net::Response json(200, "{}");
  plain.after(req, json);
  EXPECT_EQ(json.header("x-content-type-options"), "nosniff");
  EXPECT_FALSE(json.header("referrer-policy").empty());
  EXPECT_TRUE(json.header("content-security-policy").empty());
  EXPECT_TRUE(json.header("strict-transport-security").empty());
  net::Response html(200, "<html></html>", "text/html; charset=utf-8");
  SecurityHeadersMiddleware tls(true);
  tls.after(req, html);
  EXPECT_NE(html.header("content-security-policy").find("default-src 'self'"), std::string_view::npos);
  EXPECT_FALSE(html.header("strict-transport-security").empty());
}

}  // namespace
}  // namespace tacos::gateway

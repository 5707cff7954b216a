#include "net/router.hpp"

#include <gtest/gtest.h>

namespace tacos::net {
namespace {

Handler tag(std::string name) {
  return [name](Request&, Responder r) { r.send(Response(200, name)); };
}

std::string run(const Router::Match& m) {
  std::string body;
  Request req;
  (*m.handler)(req, Responder([&](Response&& r) { body = r.body; }));
  return body;
}

TEST(Router, MatchesLiteralPaths) {
  Router r;
  r.add(Method::get, "/healthz", tag("health"));
  auto m = r.match(Method::get, "/healthz");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(run(m), "health");
  EXPECT_EQ(m.pattern, "/healthz");
}

TEST(Router, ExtractsPathParameters) {
  Router r;
  r.add(Method::get, "/api/v1/events/{id}/seats", tag("seats"));
  auto m = r.match(Method::get, "/api/v1/events/evt_1/seats");
  ASSERT_NE(m.handler, nullptr);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "evt_1");
}

TEST(Router, DecodesPercentEncodedParameters) {
  Router r;
  r.add(Method::get, "/u/{name}", tag("u"));
  auto m = r.match(Method::get, "/u/a%20b");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params[0].second, "a b");
}

TEST(Router, UnknownPathIsNotFound) {
  Router r;
  r.add(Method::get, "/api/v1/events", tag("list"));
  auto m = r.match(Method::get, "/api/v1/nothing");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_known);
}

TEST(Router, WrongMethodIsMethodNotAllowedWithAllowList) {
  Router r;
  r.add(Method::get, "/api/v1/events", tag("list"));
  r.add(Method::post, "/api/v1/events", tag("create"));
  auto m = r.match(Method::del, "/api/v1/events");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.add(Method::get, "/x", tag("get"));
  auto m = r.match(Method::head, "/x");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(run(m), "get");
}

TEST(Router, LiteralSegmentBeatsParameterWhateverTheOrder) {
  Router r;
  r.add(Method::get, "/events/{id}", tag("param"));
  r.add(Method::get, "/events/featured", tag("literal"));
  EXPECT_EQ(run(r.match(Method::get, "/events/featured")), "literal");
  EXPECT_EQ(run(r.match(Method::get, "/events/abc")), "param");
}

TEST(Router, SegmentCountMustMatch) {
  Router r;
  r.add(Method::get, "/events/{id}", tag("one"));
  EXPECT_EQ(r.match(Method::get, "/events").handler, nullptr);
  EXPECT_EQ(r.match(Method::get, "/events/a/b").handler, nullptr);
}

TEST(Router, TrailingAndDoubleSlashesAreIgnored) {
  Router r;
  r.add(Method::get, "/api/v1/events", tag("list"));
  EXPECT_NE(r.match(Method::get, "/api/v1/events/").handler, nullptr);
  EXPECT_NE(r.match(Method::get, "//api/v1//events").handler, nullptr);
}

TEST(Router, RejectsDuplicateRoutes) {
  Router r;
  r.add(Method::get, "/a/{x}", tag("1"));
  EXPECT_THROW(r.add(Method::get, "/a/{y}", tag("2")), std::logic_error);
  EXPECT_NO_THROW(r.add(Method::post, "/a/{y}", tag("3")));
}

TEST(Router, AddSyncWrapsAPlainFunction) {
  Router r;
  r.add_sync(Method::get, "/s", [](Request&) { return Response(201, "made"); });
  auto m = r.match(Method::get, "/s");
  int status = 0;
  Request req;
  (*m.handler)(req, Responder([&](Response&& res) { status = res.status; }));
  EXPECT_EQ(status, 201);
}

}  // namespace
}  // namespace tacos::net

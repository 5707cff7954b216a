#include "net/http.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tacos::net {
namespace {

TEST(ErrorResponse, UsesTheEnvelopeAndTheStatusTable) {
  auto r = error_response(Error(Errc::validation_failed, "field 'x' is required", "x"), "trace-1");
  EXPECT_EQ(r.status, 400);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "VALIDATION_FAILED");
  EXPECT_EQ(j["error"]["message"], "field 'x' is required");
  EXPECT_EQ(j["error"]["field"], "x");
  EXPECT_EQ(j["error"]["trace_id"], "trace-1");
}

TEST(ErrorResponse, EscapesMessages) {
  auto r = error_response(Error(Errc::not_found, "no \"event\"\n"), "t");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["message"], "no \"event\"\n");
  EXPECT_EQ(r.status, 404);
}

TEST(ErrorResponse, IsValidJsonWhenTheMessageIsNotUtf8) {
  // A 404 names the raw request path, which may hold any byte Beast accepts in a target.
  auto r = error_response(Error(Errc::not_found, "no route for /a\xe5\xff"), "t");
  ASSERT_TRUE(nlohmann::json::accept(r.body)) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["message"], "no route for /a\ufffd\ufffd");
}

TEST(ErrorResponse, MapsIdentityErrors) {
  EXPECT_EQ(error_response(Error(Errc::unauthorized, ""), "").status, 401);
  EXPECT_EQ(error_response(Error(Errc::forbidden, ""), "").status, 403);
  EXPECT_EQ(error_response(Error(Errc::username_taken, ""), "").status, 409);
  EXPECT_EQ(error_response(Error(Errc::payload_too_large, ""), "").status, 413);
}

TEST(Request, ReadsDecodedQueryParameters) {
  Request req;
  req.query = "token=a%2Bb&x=1&empty=&plus=a+b";
  EXPECT_EQ(req.query_param("token"), "a+b");
  EXPECT_EQ(req.query_param("x"), "1");
  EXPECT_EQ(req.query_param("empty"), "");
  EXPECT_EQ(req.query_param("plus"), "a b");
  EXPECT_FALSE(req.query_param("missing").has_value());
}

TEST(PercentDecode, LeavesMalformedEscapesAlone) {
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz"), "%zz");
  EXPECT_EQ(percent_decode("%41%62"), "Ab");
}

TEST(Conditional, AnswersNotModifiedWhenTheEtagMatches) {
  Request req;
  req.headers.push_back({"if-none-match", "\"abc\""});
  auto r = conditional(req, "body", "\"abc\"");
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.header("etag"), "\"abc\"");
}

TEST(Conditional, MatchesAnyTagOfAListAndWeakTags) {
  Request req;
  req.headers.push_back({"if-none-match", "\"x\", W/\"abc\""});
  EXPECT_EQ(conditional(req, "body", "\"abc\"").status, 304);
}

TEST(Conditional, ServesTheBodyOtherwise) {
  Request req;
  req.headers.push_back({"if-none-match", "\"old\""});
  auto r = conditional(req, "body", "\"new\"");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "body");
}

TEST(Responder, FirstSendWins) {
  int calls = 0;
  int status = 0;
  {
    Responder r([&](Response&& res) {
      ++calls;
      status = res.status;
    });
    r.send(Response(201, ""));
    r.send(Response(500, ""));
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, 201);
}

TEST(Responder, DroppedWithoutSendingAnswersInternalError) {
  int status = 0;
  {
    Responder r([&](Response&& res) { status = res.status; });
  }
  EXPECT_EQ(status, 500);
}

}  // namespace
}  // namespace tacos::net

namespace tacos::net {
namespace {

TEST(ClientId, ComesFromTheHeaderThenTheCookieWhenValid) {
  Request r;
  r.headers = {{"cookie", "a=1; tacos_cid=cookie_client_1; b=2"}};
  EXPECT_EQ(r.cookie("b"), "2");
  EXPECT_EQ(r.cookie("tacos"), "");
  EXPECT_EQ(client_id(r), "cookie_client_1");
  r.headers.push_back({"x-client-id", "header_client_1"});
  EXPECT_EQ(client_id(r), "header_client_1");
  r.headers = {{"x-client-id", "short"}, {"cookie", "tacos_cid=bad id!"}};
  EXPECT_EQ(client_id(r), "");
}

}  // namespace
}  // namespace tacos::net

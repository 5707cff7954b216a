#include "net/request_parse.hpp"

#include <gtest/gtest.h>

namespace tacos::net {
namespace {

TEST(ParseRequest, SplitsTargetLowersHeaderNamesAndKeepsTheBody) {
  auto r = parse_request(
      "POST /api/v1/queue/join?event_id=e1&x=%20y HTTP/1.1\r\nHost: a\r\nX-Request-ID: abc\r\n"
      "Content-Length: 17\r\n\r\n{\"event_id\":\"e1\"}",
      ServerOptions{}, "10.0.0.1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, Method::post);
  EXPECT_EQ(r->path, "/api/v1/queue/join");
  EXPECT_EQ(r->query, "event_id=e1&x=%20y");
  EXPECT_EQ(r->header("x-request-id"), "abc");
  EXPECT_EQ(r->body, "{\"event_id\":\"e1\"}");
  EXPECT_EQ(r->remote_ip, "10.0.0.1");
}

TEST(ParseRequest, ReadsChunkedBodies) {
  auto r = parse_request("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                         ServerOptions{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "abcde");
}

TEST(ParseRequest, AppliesTheServerLimits) {
  ServerOptions o;
  o.max_url_bytes = 8;
  o.max_header_count = 2;
  o.max_body_bytes = 4;
  o.max_header_bytes = 128;
  EXPECT_EQ(parse_request("GET /123456789 HTTP/1.1\r\n\r\n", o).error().code, Errc::uri_too_long);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", o).error().code, Errc::headers_too_large);
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", o).error().code,
            Errc::payload_too_large);
  EXPECT_EQ(
      parse_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", o).error().code,
      Errc::payload_too_large);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nx: " + std::string(200, 'a') + "\r\n\r\n", o).error().code,
            Errc::headers_too_large);
}

TEST(ParseRequest, RejectsMalformedAndIncompleteRequests) {
  EXPECT_EQ(parse_request("GET / HTTP/9.9\r\n\r\n", ServerOptions{}).error().code, Errc::bad_request);
  EXPECT_EQ(parse_request("", ServerOptions{}).error().code, Errc::bad_request);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: a\r\n", ServerOptions{}).error().code, Errc::bad_request);
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", ServerOptions{}).error().code,
            Errc::bad_request);
}

TEST(ParseRequest, IgnoresBytesAfterTheFirstRequest) {
  auto r = parse_request("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", ServerOptions{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/a");
}

}  // namespace
}  // namespace tacos::net

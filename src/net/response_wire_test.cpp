#include "net/response_wire.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace tacos::net {
namespace {

namespace http = boost::beast::http;

// Parses head + body as a client would; fails the test on malformed bytes.
http::response<http::string_body> parse(const std::string& bytes, bool head_request = false) {
  http::response_parser<http::string_body> p;
  p.skip(head_request);
  p.eager(true);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(bytes), ec);
  EXPECT_FALSE(ec) << ec.message() << " in:\n" << bytes;
  EXPECT_TRUE(p.is_done()) << bytes;
  return p.release();
}

TEST(ResponseWire, RendersStatusHeadersAndLength) {
  Response r(201, R"({"ok":true})");
  r.set_header("location", "/api/v1/reservations/rsv_1");
  r.set_header("x-request-id", "abc");
  auto head = render_response_head(r, 11, true);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 201 Created\r\nServer: tacos\r\n")) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  auto msg = parse(head + r.body);
  EXPECT_EQ(msg.result_int(), 201);
  EXPECT_EQ(msg[http::field::content_type], "application/json");
  EXPECT_EQ(msg[http::field::location], "/api/v1/reservations/rsv_1");
  EXPECT_EQ(msg["x-request-id"], "abc");
  EXPECT_EQ(msg[http::field::content_length], "11");
  EXPECT_EQ(msg.body(), R"({"ok":true})");
  EXPECT_TRUE(msg.keep_alive());
}

TEST(ResponseWire, SaysCloseOnlyWhenClosing) {
  Response r(200, "{}");
  EXPECT_EQ(render_response_head(r, 11, true).find("Connection"), std::string::npos);
  auto closing = parse(render_response_head(r, 11, false) + r.body);
  EXPECT_FALSE(closing.keep_alive());
  // HTTP/1.0 closes by default, so keeping the connection open is what must be said.
  auto old = parse(render_response_head(r, 10, true) + r.body);
  EXPECT_EQ(old.version(), 10u);
  EXPECT_TRUE(old.keep_alive());
  EXPECT_FALSE(parse(render_response_head(r, 10, false) + r.body).keep_alive());
}

TEST(ResponseWire, BodylessStatusesHaveNoLengthOrType) {
  for (int status : {204, 304}) {
    Response r(status, "");
    r.set_header("etag", "\"v1\"");
    auto head = render_response_head(r, 11, true);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Type"), std::string::npos) << head;
    EXPECT_EQ(parse(head).result_int(), status);
  }
  EXPECT_TRUE(bodyless_status(100));
  EXPECT_FALSE(bodyless_status(200));
  EXPECT_FALSE(bodyless_status(404));
}

TEST(ResponseWire, HeadAnswersCarryTheLengthOfTheBodyNotSent) {
  Response r(200, std::string(1234, 'x'));
  auto msg = parse(render_response_head(r, 11, true), /*head_request=*/true);
  EXPECT_EQ(msg[http::field::content_length], "1234");
  EXPECT_TRUE(msg.body().empty());
}

TEST(ResponseWire, UnknownStatusStillHasAValidStatusLine) {
  Response r(599, "{}");
  auto msg = parse(render_response_head(r, 11, true) + r.body);
  EXPECT_EQ(msg.result_int(), 599);
}

}  // namespace
}  // namespace tacos::net

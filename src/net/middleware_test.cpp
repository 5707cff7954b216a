#include "net/middleware.hpp"

#include <gtest/gtest.h>

namespace tacos::net {
namespace {

Request with_headers(std::vector<Header> headers) {
  Request req;
  req.headers = std::move(headers);
  return req;
}

TEST(Traceparent, AcceptsAWellFormedVersion00Header) {
  auto id = traceparent_trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Traceparent, RefusesMalformedHeaders) {
  for (const char* bad : {"", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"}) {
    EXPECT_FALSE(traceparent_trace_id(bad)) << bad;
  }
}

TEST(Traceparent, AcceptsALaterVersionWithMoreFields) {
  EXPECT_TRUE(traceparent_trace_id("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
}

TEST(RequestIdMiddleware, TraceIdComesFromTraceparentFirst) {
  RequestIdMiddleware m;
  auto req = with_headers({{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                           {"x-trace-id", "9b2c3f4e-0d1a-4c3b-8e5f-6a7b8c9d0e1f"}});
  m.before(req);
  EXPECT_EQ(req.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(RequestIdMiddleware, TraceIdFallsBackToXTraceIdThenTheRequestId) {
  RequestIdMiddleware m;
  auto app = with_headers({{"traceparent", "nonsense"}, {"x-trace-id", "9b2c3f4e-0d1a-4c3b-8e5f-6a7b8c9d0e1f"}});
  m.before(app);
  EXPECT_EQ(app.trace_id, "9b2c3f4e-0d1a-4c3b-8e5f-6a7b8c9d0e1f");

  auto hostile = with_headers({{"x-request-id", "req-1"}, {"x-trace-id", "<script>"}});
  m.before(hostile);
  EXPECT_EQ(hostile.request_id, "req-1");
  EXPECT_EQ(hostile.trace_id, "req-1");
}

}  // namespace
}  // namespace tacos::net

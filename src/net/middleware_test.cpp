#include "net/middleware.hpp"

#include <gtest/gtest.h>

#include "net/call_context.hpp"

namespace tacos::net {
namespace {

Request with_headers(std::vector<Header> headers) {
  Request req;
  req.headers = std::move(headers);
  return req;
}

TEST(CallContext, LogLinesWrittenDuringACallNameItsTraceAndSpan) {
  std::string outside;
  append_trace_fields(outside);
  EXPECT_EQ(outside, "");
  {
    CallScope scope({0, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true});
    std::string line = R"("msg":"x")";
    append_trace_fields(line);
    EXPECT_EQ(line, R"("msg":"x","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7")");
  }
  std::string after;
  append_trace_fields(after);
  EXPECT_EQ(after, "") << "the scope restored the context before it";
}

TEST(AccessLogSampler, KeepsOneInNAndEveryServerError) {
  AccessLogSampler one_in_ten(10);
  int kept = 0;
  for (int i = 0; i < 1000; ++i) kept += one_in_ten.keep(200) ? 1 : 0;
  EXPECT_EQ(kept, 100);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(one_in_ten.keep(503)) << "a 5xx is always logged";
  int client_errors = 0;
  for (int i = 0; i < 100; ++i) client_errors += one_in_ten.keep(429) ? 1 : 0;
  EXPECT_EQ(client_errors, 10) << "4xx are sampled like the rest (a flood of 429s must not flood the log)";
  AccessLogSampler all(1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(all.keep(200));
  AccessLogSampler nonsense(0);
  EXPECT_TRUE(nonsense.keep(200));
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

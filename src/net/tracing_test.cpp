#include "net/tracing.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/ids.hpp"
#include "net/call_context.hpp"
#include "support/otlp_receiver.hpp"

namespace tacos::net::tracing {
namespace {

using nlohmann::json;
using namespace std::chrono;

Span a_span(std::string name) {
  Span s;
  s.trace_id = new_hex128();
  s.span_id = new_span_id();
  s.name = std::move(name);
  s.kind = SpanKind::server;
  s.start_unix_ns = now_unix_ns();
  s.end_unix_ns = s.start_unix_ns + 1000;
  return s;
}

TEST(Traceparent, CarriesTheParentSpanAndTheSampledFlag) {
  auto p = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(p->span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(p->sampled);
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
  EXPECT_TRUE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-later")->sampled);
  EXPECT_EQ(traceparent(p->trace_id, "b7ad6b7169203331", true),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
  EXPECT_EQ(parse_traceparent(traceparent(p->trace_id, "b7ad6b7169203331", false))->span_id, "b7ad6b7169203331");
}

TEST(Traceparent, OfTheCallBeingServedIsWhatAJobKeeps) {
  EXPECT_EQ(current_traceparent(), "") << "outside a request";
  {
    CallScope scope({0, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false});
    EXPECT_EQ(current_traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  }
  CallScope untraced({0, "a-client-chosen-trace-id", "", false});
  EXPECT_EQ(current_traceparent(), "") << "tracing off, or a trace id that names no trace";
}

TEST(Ids, SpanIdsAreSixteenHexDigitsAndTraceIdsAreChecked) {
  auto a = new_span_id(), b = new_span_id();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(valid_trace_id(new_hex128()));
  EXPECT_FALSE(valid_trace_id("00000000000000000000000000000000"));
  EXPECT_FALSE(valid_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736"));
  EXPECT_FALSE(valid_trace_id("a-client-chosen-trace-id"));
}

TEST(OtlpJson, IsAnExportRequestWithHexIdsAndStringTimes) {
  auto s = a_span("GET /api/v1/events");
  s.parent_span_id = new_span_id();
  s.attributes = {{"http.route", "/api/v1/events"}, {"note", "say \"hi\""}};
  s.error = true;
  s.links = {{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"}};
  s.trace_state = "congo=t61rcWkgMzE";
  auto root = a_span("root");
  auto j = json::parse(otlp_json("tacos-gateway", {s, root}));
  const auto& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "tacos-gateway");
  const auto& spans = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["traceId"], s.trace_id);
  EXPECT_EQ(spans[0]["spanId"], s.span_id);
  EXPECT_EQ(spans[0]["parentSpanId"], s.parent_span_id);
  EXPECT_EQ(spans[0]["kind"], 2);
  EXPECT_EQ(spans[0]["startTimeUnixNano"], std::to_string(s.start_unix_ns));
  EXPECT_EQ(spans[0]["attributes"][1]["value"]["stringValue"], "say \"hi\"");
  EXPECT_EQ(spans[0]["status"]["code"], 2);
  EXPECT_EQ(spans[0]["links"][0]["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(spans[0]["links"][0]["spanId"], "b7ad6b7169203331");
  EXPECT_EQ(spans[0]["traceState"], "congo=t61rcWkgMzE");
  EXPECT_FALSE(spans[1].contains("traceState"));
  EXPECT_FALSE(spans[1].contains("parentSpanId"));
  EXPECT_FALSE(spans[1].contains("links"));
}

TEST(Sampling, NewTracesFollowTheRatioByTraceId) {
  auto with_ratio = [](double r) {
    Settings s;
    s.endpoint = "http://127.0.0.1:9/v1/traces";
    s.ratio = r;
    return std::make_unique<Tracer>(s, nullptr);
  };
  auto none = with_ratio(0), all = with_ratio(1), tenth = with_ratio(0.1);
  int kept = 0;
  for (int i = 0; i < 4000; ++i) {
    auto id = new_hex128();
    EXPECT_FALSE(none->sample_root(id));
    EXPECT_TRUE(all->sample_root(id));
    kept += tenth->sample_root(id) ? 1 : 0;
    EXPECT_EQ(tenth->sample_root(id), tenth->sample_root(id)) << "the same trace, the same answer";
  }
  EXPECT_NEAR(kept, 400, 100);
}

TEST(Settings, TacosKeysWinOverTheOpenTelemetryEnvironment) {
  ::setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", 1);
  ::setenv("OTEL_SERVICE_NAME", "from-env", 1);
  ::setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
  auto env_only = settings_from({});
  ASSERT_TRUE(env_only) << env_only.error().message;
  EXPECT_EQ(env_only->endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(env_only->service_name, "from-env");
  EXPECT_DOUBLE_EQ(env_only->ratio, 0.25);
  ::setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom", 1);
  EXPECT_EQ(settings_from({})->endpoint, "http://traces:4318/custom");
  auto keys = settings_from({"http://mine:4318/v1/traces", "tacos-queue", "0.01"});
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->endpoint, "http://mine:4318/v1/traces");
  EXPECT_EQ(keys->service_name, "tacos-queue");
  EXPECT_DOUBLE_EQ(keys->ratio, 0.01);
  EXPECT_FALSE(settings_from({"", "", "1.5"}));
  EXPECT_FALSE(settings_from({"", "", "lots"}));
  EXPECT_FALSE(settings_from({"https://secure:4318/v1/traces", "", ""}));
  ::unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  ::unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  ::unsetenv("OTEL_SERVICE_NAME");
  ::unsetenv("OTEL_TRACES_SAMPLER_ARG");
  auto off = settings_from({});
  EXPECT_TRUE(off->endpoint.empty());
  EXPECT_EQ(off->service_name, "tacos");
  EXPECT_DOUBLE_EQ(off->ratio, 1.0);
}

TEST(Tracer, ExportsRecordedSpansInBatches) {
  test::OtlpReceiver receiver;
  Settings s;
  s.endpoint = receiver.endpoint();
  s.batch = 4;
  Tracer t(s, nullptr);
  for (int i = 0; i < 10; ++i) t.record(a_span("span " + std::to_string(i)));
  t.flush();
  auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 10u);
  EXPECT_EQ(spans.front().span["name"], "span 0");
  EXPECT_EQ(spans.back().span["name"], "span 9");
  EXPECT_EQ(spans.front().service, "tacos");
  EXPECT_GE(receiver.posts(), 3) << "batches of at most 4";
  EXPECT_EQ(t.stats().exported, 10u);
  EXPECT_EQ(t.stats().dropped, 0u);
}

TEST(Tracer, ACollectorThatNeverAnswersCostsRequestsNothingAndDropsAreCounted) {
  // A socket that listens and never accepts: connections queue in its backlog, no answer comes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  Settings s;
  s.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/v1/traces";
  s.queue_capacity = 100;
  s.batch = 10;
  s.timeout_ms = 300;
  {
    Tracer t(s, nullptr);
    auto start = steady_clock::now();
    for (int i = 0; i < 10000; ++i) t.record(a_span("span"));
    auto took = steady_clock::now() - start;
    EXPECT_LT(took, milliseconds(200)) << "record() waited for the collector";
    EXPECT_GE(t.stats().dropped, 9800u) << "a full queue drops";
    EXPECT_EQ(t.stats().exported, 0u);
  }
  ::close(fd);
}

}  // namespace
}  // namespace tacos::net::tracing

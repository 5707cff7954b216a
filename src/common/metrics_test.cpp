#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tacos::metrics {
namespace {

using enum Kind;

constexpr Family kTestFamilies[] = {
    {"tacos_test_requests_total", counter, "route", "Requests served"},
    {"tacos_test_things_total", counter, "", "Things"},
    {"tacos_test_total", counter, "path", "t"},
    {"tacos_test_inflight", gauge, "", "In-flight requests"},
    {"tacos_test_ratio", gauge, "", "A ratio"},
    {"tacos_test_value", gauge, "", "v"},
    {"tacos_test_queue_depth", gauge, "event", "Waiting"},
    {"tacos_test_duration_seconds", histogram, "route", "Latency"},
    {"tacos_test_size_bytes", histogram, "", "Sizes"},
    {"tacos_test_latency_seconds", histogram, "", "Latency"},
    {"tacos_test_k_total", counter, "k", "t"},
    {"tacos_test_g", gauge, "", "g"},
    {"tacos_test_h", histogram, "k", "h"},
    {"tacos_test_x", counter, "", "x"},
    {"tacos_test_b_total", counter, "", "b"},
    {"tacos_test_a_total", counter, "", "a"},
    {"tacos_test_hits_total", counter, "k", "Hits"},
    {"tacos_test_level", gauge, "", "Level"},
    {"tacos_test_obs", histogram, "", "Obs"},
    {"tacos_test_two_labels_total", counter, "b,a", "Two labels"},
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Counter, StartsAtZeroAndIncrements) {
  Counter c;
  EXPECT_EQ(c.value(), 0u);
  c.inc();
  c.inc(41);
  EXPECT_EQ(c.value(), 42u);
}

TEST(Gauge, SetsAndAdds) {
  Gauge g;
  g.set(2.5);
  g.add(1.5);
  g.add(-5);
  EXPECT_DOUBLE_EQ(g.value(), -1.0);
}

TEST(Histogram, CountsEachObservationInItsBucket) {
  Histogram h({1, 5});
  h.observe(0.5);
  h.observe(1);  // upper bounds are inclusive (le)
  h.observe(3);
  h.observe(100);
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(2), 1u);  // +Inf
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 104.5);
}

TEST(RenderLabels, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(render_labels({}), "");
  EXPECT_EQ(render_labels({{"route", "/a"}, {"code", "200"}}), R"({route="/a",code="200"})");
  EXPECT_EQ(render_labels({{"v", "a\\b\"c\nd"}}), R"({v="a\\b\"c\nd"})");
}

TEST(Registry, RendersCounterWithHelpAndType) {
  Registry r(kTestFamilies);
  r.counter("tacos_test_requests_total", {{"route", "/events"}}).inc(3);
  r.counter("tacos_test_requests_total", {{"route", "/holds"}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP tacos_test_requests_total Requests served\n"
            "# TYPE tacos_test_requests_total counter\n"
            "tacos_test_requests_total{route=\"/events\"} 3\n"
            "tacos_test_requests_total{route=\"/holds\"} 1\n");
}

TEST(Registry, RendersCounterWithoutLabels) {
  Registry r(kTestFamilies);
  r.counter("tacos_test_things_total").inc(7);
  EXPECT_EQ(r.render(),
            "# HELP tacos_test_things_total Things\n"
            "# TYPE tacos_test_things_total counter\n"
            "tacos_test_things_total 7\n");
}

TEST(Registry, EscapesLabelValuesWhenRendering) {
  Registry r(kTestFamilies);
  r.counter("tacos_test_total", {{"path", "say \"hi\"\\\n"}}).inc();
  EXPECT_TRUE(contains(r.render(), "tacos_test_total{path=\"say \\\"hi\\\"\\\\\\n\"} 1\n")) << r.render();
}

TEST(Registry, RendersGauge) {
  Registry r(kTestFamilies);
  r.gauge("tacos_test_inflight").set(2.5);
  r.gauge("tacos_test_ratio").set(0.1);
  auto text = r.render();
  EXPECT_TRUE(contains(text,
                       "# HELP tacos_test_inflight In-flight requests\n"
                       "# TYPE tacos_test_inflight gauge\n"
                       "tacos_test_inflight 2.5\n"))
      << text;
  // Shortest representation that reads back as the same double, as other Prometheus clients do.
  EXPECT_TRUE(contains(text, "tacos_test_ratio 0.1\n")) << text;
}

TEST(Registry, RendersGaugeValuesReadablyAndExactly) {
  Registry r(kTestFamilies);
  auto& g = r.gauge("tacos_test_value");
  auto rendered = [&r, &g](double v) {
    g.set(v);
    auto text = r.render();
    auto line = text.substr(text.rfind("tacos_test_value "));
    return line.substr(line.find(' ') + 1, line.size() - line.find(' ') - 2);
  };
  EXPECT_EQ(rendered(0), "0");
  EXPECT_EQ(rendered(1000), "1000");
  EXPECT_EQ(rendered(100000), "100000");
  EXPECT_EQ(rendered(1e7), "1e+07");
  EXPECT_EQ(rendered(1234567.5), "1234567.5");
  EXPECT_EQ(rendered(-0.25), "-0.25");
  EXPECT_EQ(rendered(1e-05), "1e-05");
  EXPECT_EQ(rendered(0.1 + 0.2), "0.30000000000000004");  // never rounded to a different double
  EXPECT_EQ(rendered(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(rendered(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(rendered(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Registry, RendersGaugeFnValueAtScrapeTime) {
  Registry r(kTestFamilies);
  double depth = 3;
  r.gauge_fn("tacos_test_queue_depth", {{"event", "e1"}}, [&depth] { return depth; });
  EXPECT_TRUE(contains(r.render(),
                       "# TYPE tacos_test_queue_depth gauge\n"
                       "tacos_test_queue_depth{event=\"e1\"} 3\n"))
      << r.render();
  depth = 12;
  EXPECT_TRUE(contains(r.render(), "tacos_test_queue_depth{event=\"e1\"} 12\n")) << r.render();
}

TEST(Registry, RendersHistogramWithCumulativeBuckets) {
  Registry r(kTestFamilies);
  auto& h = r.histogram("tacos_test_duration_seconds", {{"route", "/x"}}, {0.1, 0.5, 1});
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.3);
  h.observe(2);
  EXPECT_EQ(r.render(),
            "# HELP tacos_test_duration_seconds Latency\n"
            "# TYPE tacos_test_duration_seconds histogram\n"
            "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
            "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
            "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "tacos_test_duration_seconds_sum{route=\"/x\"} 2.45\n"
            "tacos_test_duration_seconds_count{route=\"/x\"} 4\n");
}

TEST(Registry, RendersOpenMetricsWithExemplarsOnHistogramBuckets) {
  Registry r(kTestFamilies);
  auto& h = r.histogram("tacos_test_duration_seconds", {{"route", "/x"}}, {0.1, 0.5});
  h.observe(0.05, "4bf92f3577b34da6a3ce929d0e0e4736");
  h.observe(0.07);                                     // no trace: the bucket keeps its exemplar
  h.observe(0.3, "0af7651916cd43dd8448eb211c80319c");  // the latest of a bucket wins
  h.observe(0.4, "00f067aa0ba902b700f067aa0ba902b7");
  r.counter("tacos_test_requests_total", {{"route", "/x"}}).inc(3);
  auto om = r.render(Registry::Format::openmetrics);
  EXPECT_TRUE(contains(om,
                       "# TYPE tacos_test_requests counter\n"
                       "tacos_test_requests_total{route=\"/x\"} 3\n"))
      << "a counter's family has no _total; its sample does\n"
      << om;
  EXPECT_TRUE(contains(om,
                       "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"0.1\"} 2 # "
                       "{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 0.05 "))
      << om;
  EXPECT_TRUE(contains(om,
                       "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 4 # "
                       "{trace_id=\"00f067aa0ba902b700f067aa0ba902b7\"} 0.4 "))
      << om;
  EXPECT_TRUE(contains(om, "tacos_test_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n")) << om;
  EXPECT_TRUE(om.ends_with("# EOF\n")) << om;
  auto text = r.render();
  EXPECT_FALSE(contains(text, "trace_id")) << "the text format has no exemplars";
  EXPECT_TRUE(contains(text, "# TYPE tacos_test_requests_total counter\n")) << text;
  EXPECT_FALSE(contains(text, "# EOF")) << text;
  auto e = h.exemplar(1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->trace_id, "00f067aa0ba902b700f067aa0ba902b7");
  EXPECT_NEAR(e->unix_seconds, static_cast<double>(std::time(nullptr)), 5);
  EXPECT_FALSE(h.exemplar(2)) << "nothing fell in +Inf";
}

TEST(Negotiate, OpenMetricsOnlyForAScraperThatAsksForIt) {
  // Prometheus 2.42's default Accept header.
  auto [om, om_type] = negotiate(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(om, Registry::Format::openmetrics);
  EXPECT_EQ(om_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  for (const char* accept : {"", "*/*", "text/plain"}) {
    auto [text, text_type] = negotiate(accept);
    EXPECT_EQ(text, Registry::Format::text) << accept;
    EXPECT_EQ(text_type, "text/plain; version=0.0.4; charset=utf-8");
  }
}

TEST(Registry, RendersHistogramWithoutLabels) {
  Registry r(kTestFamilies);
  r.histogram("tacos_test_size_bytes", {}, {10}).observe(4);
  EXPECT_EQ(r.render(),
            "# HELP tacos_test_size_bytes Sizes\n"
            "# TYPE tacos_test_size_bytes histogram\n"
            "tacos_test_size_bytes_bucket{le=\"10\"} 1\n"
            "tacos_test_size_bytes_bucket{le=\"+Inf\"} 1\n"
            "tacos_test_size_bytes_sum 4\n"
            "tacos_test_size_bytes_count 1\n");
}

TEST(Registry, DefaultLatencyBucketsRenderReadably) {
  Registry r(kTestFamilies);
  r.histogram("tacos_test_latency_seconds").observe(0.003);
  auto text = r.render();
  EXPECT_TRUE(contains(text, "tacos_test_latency_seconds_bucket{le=\"0.0005\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "tacos_test_latency_seconds_bucket{le=\"0.0025\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "tacos_test_latency_seconds_bucket{le=\"0.005\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "tacos_test_latency_seconds_bucket{le=\"10\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "tacos_test_latency_seconds_bucket{le=\"+Inf\"} 1\n")) << text;
}

TEST(Registry, ReturnsSameSeriesForSameLabels) {
  Registry r(kTestFamilies);
  auto& a = r.counter("tacos_test_k_total", {{"k", "v"}});
  auto& b = r.counter("tacos_test_k_total", {{"k", "v"}});
  auto& c = r.counter("tacos_test_k_total", {{"k", "w"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(&r.gauge("tacos_test_g"), &r.gauge("tacos_test_g"));
  EXPECT_EQ(&r.histogram("tacos_test_h", {{"k", "v"}}), &r.histogram("tacos_test_h", {{"k", "v"}}));
  a.inc();
  b.inc();
  EXPECT_EQ(a.value(), 2u);
  EXPECT_EQ(c.value(), 0u);
}

TEST(Registry, RejectsSameNameWithAnotherKind) {
  Registry r(kTestFamilies);
  r.counter("tacos_test_x");
  EXPECT_THROW(r.gauge("tacos_test_x"), std::logic_error);
  EXPECT_THROW(r.histogram("tacos_test_x", {{"k", "v"}}), std::logic_error);
}

TEST(Registry, RefusesFamiliesAndLabelsItWasNotDeclared) {
  Registry r(kTestFamilies);
  EXPECT_THROW(r.counter("tacos_test_undeclared_total"), std::logic_error);
  EXPECT_THROW(r.counter("tacos_test_k_total"), std::logic_error);  // its label is missing
  EXPECT_THROW(r.counter("tacos_test_k_total", {{"k", "v"}, {"user", "u1"}}), std::logic_error);
  EXPECT_THROW(r.counter("tacos_test_k_total", {{"K", "v"}}), std::logic_error);
  // Label names in any order.
  r.counter("tacos_test_two_labels_total", {{"a", "1"}, {"b", "2"}}).inc();
  r.counter("tacos_test_two_labels_total", {{"b", "3"}, {"a", "4"}}).inc();
  EXPECT_TRUE(contains(r.render(), "tacos_test_two_labels_total{a=\"1\",b=\"2\"} 1\n")) << r.render();
}

TEST(Registry, RendersAHistogramOwnedElsewhere) {
  Registry r(kTestFamilies);
  Histogram owned({1});
  r.histogram_ref("tacos_test_size_bytes", {}, owned);
  owned.observe(0.5);
  owned.observe(3);
  EXPECT_EQ(r.render(),
            "# HELP tacos_test_size_bytes Sizes\n"
            "# TYPE tacos_test_size_bytes histogram\n"
            "tacos_test_size_bytes_bucket{le=\"1\"} 1\n"
            "tacos_test_size_bytes_bucket{le=\"+Inf\"} 2\n"
            "tacos_test_size_bytes_sum 3.5\n"
            "tacos_test_size_bytes_count 2\n");
  EXPECT_THROW(r.histogram_ref("tacos_test_x", {}, owned), std::logic_error);
}

// The real table: names unique and in the project's form, so docs/metrics.md and dashboards can
// rely on them.
TEST(Catalogue, NamesAreUniqueAndFollowTheConvention) {
  std::set<std::string_view> seen;
  for (const auto& f : catalogue()) {
    SCOPED_TRACE(std::string(f.name));
    EXPECT_TRUE(seen.insert(f.name).second) << "declared twice";
    EXPECT_TRUE(f.name.starts_with("tacos_"));
    EXPECT_EQ(f.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos);
    EXPECT_EQ(f.kind == Kind::counter, f.name.ends_with("_total")) << "counters, and only they, end in _total";
    EXPECT_FALSE(f.help.empty());
    EXPECT_EQ(f.labels.find("le"), std::string_view::npos);
  }
  EXPECT_GE(seen.size(), 40u);
}

TEST(Catalogue, ReferenceHasARowPerFamily) {
  auto md = reference_markdown(catalogue());
  for (const auto& f : catalogue()) EXPECT_TRUE(contains(md, "| `" + std::string(f.name) + "` |")) << f.name;
}

TEST(Registry, RendersFamiliesSortedByName) {
  Registry r(kTestFamilies);
  r.counter("tacos_test_b_total").inc();
  r.counter("tacos_test_a_total").inc();
  auto text = r.render();
  EXPECT_LT(text.find("tacos_test_a_total"), text.find("tacos_test_b_total"));
}

TEST(Registry, ConcurrentIncrementsSumCorrectly) {
  Registry r(kTestFamilies);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < kPerThread; ++i) {
        // Looking the series up every time also exercises the registry lock.
        r.counter("tacos_test_hits_total", {{"k", "v"}}).inc();
        r.gauge("tacos_test_level").add(1);
        r.histogram("tacos_test_obs", {}, {0.5}).observe(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr std::uint64_t kTotal = std::uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(r.counter("tacos_test_hits_total", {{"k", "v"}}).value(), kTotal);
  EXPECT_DOUBLE_EQ(r.gauge("tacos_test_level").value(), static_cast<double>(kTotal));
  auto& h = r.histogram("tacos_test_obs", {}, {0.5});
  EXPECT_EQ(h.count(), kTotal);
  EXPECT_EQ(h.bucket(1), kTotal);
  EXPECT_DOUBLE_EQ(h.sum(), static_cast<double>(kTotal));
  EXPECT_TRUE(contains(r.render(), "tacos_test_hits_total{k=\"v\"} " + std::to_string(kTotal) + "\n"));
}

}  // namespace
}  // namespace tacos::metrics

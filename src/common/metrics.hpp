#pragma once
// A small Prometheus client: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4), or in OpenMetrics 1.0 when the scraper asks for it, which
// adds exemplars: a histogram bucket names the trace of the last recorded request that fell in
// it. Debian ships no C++ Prometheus client, so this is ours.
// Registry owns every series; references it hands out stay valid for its lifetime.
// Thread-safety: series updates are lock-free atomics (an exemplar takes its histogram's lock,
// or is skipped when another thread holds it); creating a series takes the registry lock.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tacos::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  /// Observes `v` and keeps `trace_id` as its bucket's exemplar (the latest one wins; a trace id
  /// is at most 32 characters).
  void observe(double v, std::string_view trace_id);

  struct Exemplar {
    std::string trace_id;
    double value = 0;
    double unix_seconds = 0;
  };
  /// Bucket i's exemplar, if one was observed.
  std::optional<Exemplar> exemplar(std::size_t i) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  /// Non-cumulative count of bucket i (i == bounds().size() is +Inf).
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};

  struct Slot {
    char trace_id[32];
    std::uint8_t size = 0;  // 0: none yet
    double value = 0;
    double unix_seconds = 0;
  };
  mutable std::mutex exemplar_mu_;
  std::unique_ptr<Slot[]> exemplars_;  // made with the first exemplar
};

/// Default latency buckets in seconds (0.5 ms .. 10 s).
const std::vector<double>& latency_buckets();

enum class Kind { counter, gauge, histogram };

/// One declared metric family: its name, kind, label names (comma-separated, in any order) and help.
struct Family {
  std::string_view name;
  Kind kind;
  std::string_view labels;
  std::string_view help;
};

/// Every family tacos exposes (metric_catalogue.cpp): the only names a default Registry accepts.
std::span<const Family> catalogue();

/// The catalogue as the Markdown table of docs/metrics.md.
std::string reference_markdown(std::span<const Family> families);

/// Owns every series of one process. A series must belong to a declared family with exactly its
/// label names (std::logic_error otherwise: a programming error, found by any test that starts
/// the code), so what /metrics shows is what docs/metrics.md documents.
class Registry {
 public:
  explicit Registry(std::span<const Family> families = catalogue()) : declared_(families) {}

  Counter& counter(std::string_view name, const Labels& labels = {});
  Gauge& gauge(std::string_view name, const Labels& labels = {});
  Histogram& histogram(std::string_view name, const Labels& labels = {},
                       const std::vector<double>& bounds = latency_buckets());
  /// A gauge whose value is read at scrape time (queue lengths, pool sizes).
  void gauge_fn(std::string_view name, const Labels& labels, std::function<double()> fn);
  /// A counter whose value is read at scrape time from a monotonic source.
  void counter_fn(std::string_view name, const Labels& labels, std::function<double()> fn);
  /// A histogram owned elsewhere (a store's, a client's), rendered at scrape time; it must outlive
  /// the registry's renders.
  void histogram_ref(std::string_view name, const Labels& labels, const Histogram& histogram);

  enum class Format { text, openmetrics };
  /// The whole registry in Prometheus text format (0.0.4), or in OpenMetrics 1.0 with exemplars.
  std::string render(Format format = Format::text) const;

 private:
  struct Series {
    std::string labels;  // rendered `{a="b",...}` or empty
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    const Histogram* histogram_ref = nullptr;
    std::function<double()> fn;
  };
  struct Registered {
    Kind kind;
    std::string help;
    std::map<std::string, Series> series;  // by rendered labels
  };
  Series& series(std::string_view name, Kind kind, const Labels& labels, const std::vector<double>* bounds);
  const metrics::Family& declared(std::string_view name, Kind kind, const Labels& labels) const;

  std::span<const metrics::Family> declared_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Registered, std::less<>> families_;
};

/// What /metrics answers a scraper whose Accept header is `accept`: OpenMetrics when it asks for
/// application/openmetrics-text, the text format otherwise; with its Content-Type.
std::pair<Registry::Format, std::string_view> negotiate(std::string_view accept);

/// Renders labels as `{k="v",...}` with Prometheus escaping; empty for no labels.
std::string render_labels(const Labels& labels);

}  // namespace tacos::metrics

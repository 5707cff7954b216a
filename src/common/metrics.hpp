#pragma once
// A small Prometheus client: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). Debian ships no C++ Prometheus client, so this is ours.
// Registry owns every series; references it hands out stay valid for its lifetime.
// Thread-safety: series updates are lock-free atomics; creating a series takes the registry lock.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
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
};

/// Default latency buckets in seconds (0.5 ms .. 10 s).
const std::vector<double>& latency_buckets();

class Registry {
 public:
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                       const std::vector<double>& bounds = latency_buckets());
  /// A gauge whose value is read at scrape time (queue lengths, pool sizes).
  void gauge_fn(std::string_view name, std::string_view help, const Labels& labels, std::function<double()> fn);
  /// A counter whose value is read at scrape time from a monotonic source.
  void counter_fn(std::string_view name, std::string_view help, const Labels& labels, std::function<double()> fn);

  /// The whole registry in Prometheus text format.
  std::string render() const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Series {
    std::string labels;  // rendered `{a="b",...}` or empty
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> fn;
  };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, Series> series;  // by rendered labels
  };
  Series& series(std::string_view name, std::string_view help, Kind kind, const Labels& labels,
                 const std::vector<double>* bounds);

  mutable std::shared_mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

/// Renders labels as `{k="v",...}` with Prometheus escaping; empty for no labels.
std::string render_labels(const Labels& labels);

}  // namespace tacos::metrics

#include "common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace tacos::metrics {
namespace {

void atomic_add(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  // %g style like other Prometheus clients ("0.1", "0.0005", "100000", "1e+07"), with the fewest
  // digits (at least 6) that read back as the same double; %.17g would print 0.1000...01.
  char buf[40];
  for (int precision = 6;; ++precision) {
    auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, precision).ptr;
    double back = 0;
    std::from_chars(buf, end, back);
    if (back == v || precision >= 17) return std::string(buf, end);
  }
}

std::string with_label(const std::string& rendered, std::string_view key, std::string_view value) {
  std::string extra = std::string(key) + "=\"" + std::string(value) + "\"";
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

void Gauge::add(double d) { atomic_add(v_, d); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) { observe(v, {}); }

void Histogram::observe(double v, std::string_view trace_id) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  // Kept before counting, so a scrape that sees the count may see its exemplar too.
  if (!trace_id.empty() && exemplar_mu_.try_lock()) {  // a busy lock: another request's exemplar will do
    std::lock_guard lock(exemplar_mu_, std::adopt_lock);
    if (!exemplars_) exemplars_ = std::make_unique<Slot[]>(bounds_.size() + 1);
    auto& slot = exemplars_[i];
    slot.size = static_cast<std::uint8_t>(std::min(trace_id.size(), sizeof slot.trace_id));
    std::copy_n(trace_id.data(), slot.size, slot.trace_id);
    slot.value = v;
    slot.unix_seconds = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

std::optional<Histogram::Exemplar> Histogram::exemplar(std::size_t i) const {
  std::lock_guard lock(exemplar_mu_);
  if (!exemplars_ || i > bounds_.size() || exemplars_[i].size == 0) return std::nullopt;
  const auto& slot = exemplars_[i];
  return Exemplar{std::string(slot.trace_id, slot.size), slot.value, slot.unix_seconds};
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBuckets;
}

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

const Family& Registry::declared(std::string_view name, Kind kind, const Labels& labels) const {
  for (const auto& f : declared_) {
    if (f.name != name) continue;
    if (f.kind != kind) throw std::logic_error("metric kind mismatch: " + std::string(name));
    std::vector<std::string_view> want;
    for (std::string_view rest = f.labels; !rest.empty();) {
      auto comma = rest.find(',');
      want.push_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    std::vector<std::string_view> got;
    for (const auto& [k, v] : labels) got.push_back(k);
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    if (want != got)
      throw std::logic_error("metric " + std::string(name) + " is declared with labels {" + std::string(f.labels) +
                             "}");
    return f;
  }
  throw std::logic_error("metric " + std::string(name) + " is not declared in src/common/metric_catalogue.cpp");
}

Registry::Series& Registry::series(std::string_view name, Kind kind, const Labels& labels,
                                   const std::vector<double>* bounds) {
  std::string key = render_labels(labels);
  {
    std::shared_lock lock(mu_);
    auto f = families_.find(name);
    if (f != families_.end()) {
      auto s = f->second.series.find(key);
      if (s != f->second.series.end()) {
        if (f->second.kind != kind) throw std::logic_error("metric kind mismatch: " + std::string(name));
        return s->second;
      }
    }
  }
  const auto& decl = declared(name, kind, labels);
  std::unique_lock lock(mu_);
  auto [f, inserted] = families_.try_emplace(std::string(name), Registered{kind, std::string(decl.help), {}});
  if (!inserted && f->second.kind != kind) throw std::logic_error("metric kind mismatch: " + std::string(name));
  auto [s, created] = f->second.series.try_emplace(key);
  if (created) {
    // The value object is made here, under the exclusive lock, so later lookups only read.
    s->second.labels = key;
    if (kind == Kind::counter) s->second.counter = std::make_unique<Counter>();
    if (kind == Kind::gauge) s->second.gauge = std::make_unique<Gauge>();
    if (kind == Kind::histogram)
      s->second.histogram = std::make_unique<Histogram>(bounds ? *bounds : latency_buckets());
  }
  return s->second;
}

Counter& Registry::counter(std::string_view name, const Labels& labels) {
  return *series(name, Kind::counter, labels, nullptr).counter;
}

Gauge& Registry::gauge(std::string_view name, const Labels& labels) {
  return *series(name, Kind::gauge, labels, nullptr).gauge;
}

Histogram& Registry::histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds) {
  return *series(name, Kind::histogram, labels, &bounds).histogram;
}

void Registry::gauge_fn(std::string_view name, const Labels& labels, std::function<double()> fn) {
  auto& s = series(name, Kind::gauge, labels, nullptr);
  std::unique_lock lock(mu_);
  s.fn = std::move(fn);
}

void Registry::counter_fn(std::string_view name, const Labels& labels, std::function<double()> fn) {
  auto& s = series(name, Kind::counter, labels, nullptr);
  std::unique_lock lock(mu_);
  s.fn = std::move(fn);
}

void Registry::histogram_ref(std::string_view name, const Labels& labels, const Histogram& histogram) {
  const auto& decl = declared(name, Kind::histogram, labels);
  std::unique_lock lock(mu_);
  auto& fam = families_.try_emplace(std::string(name), Registered{Kind::histogram, {}, {}}).first->second;
  if (fam.kind != Kind::histogram) throw std::logic_error("metric kind mismatch: " + std::string(name));
  fam.help = std::string(decl.help);
  auto key = render_labels(labels);
  auto& s = fam.series[key];
  s.labels = key;
  s.histogram.reset();
  s.histogram_ref = &histogram;
}

std::pair<Registry::Format, std::string_view> negotiate(std::string_view accept) {
  if (accept.find("application/openmetrics-text") != std::string_view::npos) {
    return {Registry::Format::openmetrics, "application/openmetrics-text; version=1.0.0; charset=utf-8"};
  }
  return {Registry::Format::text, "text/plain; version=0.0.4; charset=utf-8"};
}

std::string Registry::render(Format format) const {
  const bool om = format == Format::openmetrics;
  std::shared_lock lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, fam] : families_) {
    // OpenMetrics names a counter's family without the _total its samples carry, and escapes
    // quotes in help text too.
    std::string family = name;
    if (om && fam.kind == Kind::counter && family.ends_with("_total")) family.resize(family.size() - 6);
    out += "# HELP " + family + " ";
    for (char c : fam.help) {
      if (c == '\\' || (om && c == '"')) out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += "\n# TYPE " + family + " ";
    out += fam.kind == Kind::counter ? "counter\n" : fam.kind == Kind::gauge ? "gauge\n" : "histogram\n";
    for (const auto& [key, s] : fam.series) {
      if (s.fn) {
        out += name + key + " " + format_double(s.fn()) + "\n";
      } else if (s.counter) {
        out += name + key + " " + std::to_string(s.counter->value()) + "\n";
      } else if (s.gauge) {
        out += name + key + " " + format_double(s.gauge->value()) + "\n";
      } else if (s.histogram || s.histogram_ref) {
        const auto& h = s.histogram ? *s.histogram : *s.histogram_ref;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
          cumulative += h.bucket(i);
          std::string le = i < h.bounds().size() ? format_double(h.bounds()[i]) : "+Inf";
          out += name + "_bucket" + with_label(key, "le", le) + " " + std::to_string(cumulative);
          if (auto e = om ? h.exemplar(i) : std::nullopt) {
            out += " # " + render_labels({{"trace_id", e->trace_id}}) + " " + format_double(e->value) + " ";
            char at[32];
            out.append(at, static_cast<std::size_t>(std::snprintf(at, sizeof at, "%.3f", e->unix_seconds)));
          }
          out += "\n";
        }
        out += name + "_sum" + key + " " + format_double(h.sum()) + "\n";
        out += name + "_count" + key + " " + std::to_string(h.count()) + "\n";
      }
    }
  }
  if (om) out += "# EOF\n";
  return out;
}

std::string reference_markdown(std::span<const Family> families) {
  std::string out = "| Name | Type | Labels | Meaning |\n|---|---|---|---|\n";
  for (const auto& f : families) {
    out += "| `" + std::string(f.name) + "` | ";
    out += f.kind == Kind::counter ? "counter" : f.kind == Kind::gauge ? "gauge" : "histogram";
    out += " | ";
    std::string labels(f.labels);
    std::replace(labels.begin(), labels.end(), ',', ' ');
    out += labels.empty() ? "" : "`" + labels + "`";
    out += " | " + std::string(f.help) + " |\n";
  }
  return out;
}

}  // namespace tacos::metrics

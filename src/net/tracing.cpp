#include "net/tracing.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "net/call_context.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"

namespace tacos::net::tracing {
namespace {

std::atomic<Tracer*> g_tracer{nullptr};

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view v) { return v.find_first_not_of('0') == std::string_view::npos; }

void append_json(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  log::append_json_string(out, value);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

Tracer* tracer() { return g_tracer.load(std::memory_order_acquire); }
void set_tracer(Tracer* t) { g_tracer.store(t, std::memory_order_release); }

std::optional<Parent> parse_traceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags; a later version may append fields after flags.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  auto version = header.substr(0, 2), trace = header.substr(3, 32), parent = header.substr(36, 16),
       flags = header.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags)) {
    return std::nullopt;
  }
  if (version == "00" && header.size() != 55) return std::nullopt;
  if (header.size() > 55 && header[55] != '-') return std::nullopt;
  if (all_zero(trace) || all_zero(parent)) return std::nullopt;
  // The sampled flag is the low bit of the flags' second hex digit.
  const bool sampled = ((flags[1] >= 'a' ? flags[1] - 'a' + 10 : flags[1] - '0') & 1) != 0;
  return Parent{std::string(trace), std::string(parent), sampled};
}

std::string traceparent(std::string_view trace_id, std::string_view span_id, bool sampled) {
  std::string out = "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += sampled ? "-01" : "-00";
  return out;
}

std::string current_traceparent() {
  const auto& c = current_call();
  if (c.span_id.empty() || !valid_trace_id(c.trace_id)) return {};
  return traceparent(c.trace_id, c.span_id, c.sampled);
}

std::string new_span_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = 0;
  while (v == 0) v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 15];
  return out;
}

bool valid_trace_id(std::string_view id) { return id.size() == 32 && lower_hex(id) && !all_zero(id); }

std::int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string otlp_json(std::string_view service_name, const std::vector<Span>& spans) {
  std::string out = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":)";
  log::append_json_string(out, service_name);
  out += R"(}}]},"scopeSpans":[{"scope":{"name":"tacos"},"spans":[)";
  bool first = true;
  for (const auto& s : spans) {
    if (!first) out += ',';
    first = false;
    out += '{';
    append_json(out, "traceId", s.trace_id);
    out += ',';
    append_json(out, "spanId", s.span_id);
    if (!s.parent_span_id.empty()) {
      out += ',';
      append_json(out, "parentSpanId", s.parent_span_id);
    }
    if (!s.trace_state.empty()) {
      out += ',';
      append_json(out, "traceState", s.trace_state);
    }
    out += ',';
    append_json(out, "name", s.name);
    out += ",\"kind\":" + std::to_string(static_cast<int>(s.kind));
    // 64-bit integers are strings in OTLP/JSON.
    out += ",\"startTimeUnixNano\":\"" + std::to_string(s.start_unix_ns) + "\"";
    out += ",\"endTimeUnixNano\":\"" + std::to_string(s.end_unix_ns) + "\"";
    out += ",\"attributes\":[";
    for (std::size_t i = 0; i < s.attributes.size(); ++i) {
      if (i) out += ',';
      out += "{\"key\":";
      log::append_json_string(out, s.attributes[i].first);
      out += ",\"value\":{\"stringValue\":";
      log::append_json_string(out, s.attributes[i].second);
      out += "}}";
    }
    out += ']';
    if (!s.links.empty()) {
      out += ",\"links\":[";
      for (std::size_t i = 0; i < s.links.size(); ++i) {
        if (i) out += ',';
        out += '{';
        append_json(out, "traceId", s.links[i].first);
        out += ',';
        append_json(out, "spanId", s.links[i].second);
        out += '}';
      }
      out += ']';
    }
    out += ",\"status\":{\"code\":";
    out += s.error ? "2" : "0";  // STATUS_CODE_ERROR, STATUS_CODE_UNSET
    out += "}}";
  }
  out += "]}]}]}";
  return out;
}

Result<Settings> settings_from(const Configured& keys) {
  Settings s;
  s.endpoint = keys.endpoint;
  if (s.endpoint.empty()) s.endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (s.endpoint.empty()) {
    auto base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (!base.empty()) s.endpoint = base + "/v1/traces";
  }
  s.service_name = !keys.service_name.empty() ? keys.service_name : env("OTEL_SERVICE_NAME");
  if (s.service_name.empty()) s.service_name = "tacos";
  auto ratio = !keys.ratio.empty() ? keys.ratio : env("OTEL_TRACES_SAMPLER_ARG");
  if (!ratio.empty()) {
    char* end = nullptr;
    double r = std::strtod(ratio.c_str(), &end);
    if (end == ratio.c_str() || *end != '\0' || !(r >= 0 && r <= 1)) {
      return Error(Errc::validation_failed, "tracing.sample_ratio: '" + ratio + "' is not a number from 0 to 1",
                   "tracing.sample_ratio");
    }
    s.ratio = r;
  }
  if (!s.endpoint.empty()) {
    auto url = parse_http_url(s.endpoint);
    if (!url || url->tls) {
      return Error(Errc::validation_failed,
                   "tracing.otlp_endpoint: '" + s.endpoint + "' is not an http:// URL" +
                       (url ? std::string(" (https is not supported: use a collector on the node)")
                            : ": " + url.error().message),
                   "tracing.otlp_endpoint");
    }
  }
  return s;
}

Tracer::Tracer(Settings settings, metrics::Registry* metrics) : s_(std::move(settings)) {
  auto url = parse_http_url(s_.endpoint);
  if (!url) throw std::invalid_argument("tracing endpoint: " + url.error().message);
  host_ = url->host;
  port_ = url->port;
  path_ = url->target;
  if (metrics) {
    metrics->counter_fn("tacos_trace_spans_exported_total", {},
                        [this] { return static_cast<double>(stats().exported); });
    metrics->counter_fn("tacos_trace_spans_dropped_total", {}, [this] { return static_cast<double>(stats().dropped); });
  }
  thread_ = std::thread([this] { run(); });
}

Tracer::~Tracer() {
  if (tracer() == this) set_tracer(nullptr);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Tracer::sample_root(std::string_view trace_id) const {
  if (s_.ratio >= 1) return true;
  if (s_.ratio <= 0 || trace_id.size() < 16) return false;
  // The trace id's first 64 bits against the ratio: every role decides the same for one trace.
  std::uint64_t v = 0;
  for (char c : trace_id.substr(0, 16)) {
    v = v << 4 | static_cast<std::uint64_t>(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
  }
  return static_cast<double>(v) < s_.ratio * 18446744073709551616.0;
}

void Tracer::record(Span span) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= s_.queue_capacity) {
      ++stats_.dropped;
      return;
    }
    queue_.push_back(std::move(span));
    if (queue_.size() < s_.batch) return;
  }
  cv_.notify_one();
}

void Tracer::flush() {
  std::unique_lock lock(mu_);
  auto ticket = ++flush_asked_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return flush_done_ >= ticket || stopping_; });
}

Tracer::Stats Tracer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Tracer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(s_.flush_ms),
                 [&] { return stopping_ || queue_.size() >= s_.batch || flush_asked_ > flush_done_; });
    auto asked = flush_asked_;
    while (!queue_.empty()) {
      std::vector<Span> batch;
      while (!queue_.empty() && batch.size() < s_.batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      bool ok = post(batch);
      lock.lock();
      (ok ? stats_.exported : stats_.dropped) += batch.size();
      if (!ok && stopping_) {  // shutting down: one try, not a timeout per batch
        stats_.dropped += queue_.size();
        queue_.clear();
      }
    }
    flush_done_ = asked;
    cv_.notify_all();
    if (stopping_) return;
  }
}

bool Tracer::post(const std::vector<Span>& batch) {
  // One connection, made again after a failure; a collector that does not answer costs this
  // thread the timeout, never a request (the queue fills and drops meanwhile).
  static thread_local bool failing = false;
  try {
    HttpClient c(host_, port_);
    c.set_timeout(std::chrono::milliseconds(s_.timeout_ms));
    auto r = c.post(path_, otlp_json(s_.service_name, batch), {{"content-type", "application/json"}});
    if (r.status / 100 != 2) throw std::runtime_error("the collector answered " + std::to_string(r.status));
    if (failing) log::info("trace export works again");
    failing = false;
    return true;
  } catch (const std::exception& e) {
    if (!failing) log::warn("trace export failed; spans are dropped until it works", {log::str("error", e.what())});
    failing = true;
    return false;
  }
}

}  // namespace tacos::net::tracing

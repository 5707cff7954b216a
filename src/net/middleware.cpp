#include "net/middleware.hpp"

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "net/tracing.hpp"

namespace tacos::net {
namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> traceparent_trace_id(std::string_view header) {
  auto parent = tracing::parse_traceparent(header);
  if (!parent) return std::nullopt;
  return std::move(parent->trace_id);
}

std::optional<Response> RequestIdMiddleware::before(Request& req) {
  auto incoming = req.header("x-request-id");
  req.request_id = sane_request_id(incoming) ? std::string(incoming) : new_hex128();
  auto parent = tracing::parse_traceparent(req.header("traceparent"));
  if (parent) {
    req.trace_id = parent->trace_id;
  } else if (auto x = req.header("x-trace-id"); sane_request_id(x)) {
    req.trace_id = std::string(x);
  } else {
    req.trace_id = req.request_id;
  }
  // A span of our own when tracing is on and the trace id can name an OpenTelemetry trace.
  // A request whose trace is not recorded passes its caller's span id on instead of drawing one:
  // nobody will see either, and the callees only need the trace id and the decision.
  if (auto* t = tracing::tracer(); t && tracing::valid_trace_id(req.trace_id)) {
    if (parent) {
      // W3C: tracestate travels with a valid traceparent, up to 512 characters.
      if (auto state = req.header("tracestate"); !state.empty() && state.size() <= 512) req.trace_state = state;
      req.sampled = parent->sampled;
      req.span_id = req.sampled ? tracing::new_span_id() : parent->span_id;
      req.parent_span_id = std::move(parent->span_id);
    } else {
      req.sampled = t->sample_root(req.trace_id);
      req.span_id = tracing::new_span_id();
    }
  }
  return std::nullopt;
}

void RequestIdMiddleware::after(const Request& req, Response& res) {
  if (!req.request_id.empty()) res.set_header("x-request-id", req.request_id);
}

bool AccessLogSampler::keep(int status) const {
  thread_local std::uint64_t seen = 0;
  return status >= 500 || seen++ % every_ == 0;
}

ObservabilityMiddleware::ObservabilityMiddleware(metrics::Registry& registry, bool access_log, int log_every)
    : registry_(registry), access_log_(access_log), sampler_(log_every) {}

ObservabilityMiddleware::Series ObservabilityMiddleware::series(const Request& req, int status) {
  std::string key = req.route;
  key += '\0';
  key += method_name(req.method);
  key += std::to_string(status);
  {
    std::shared_lock lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  metrics::Labels labels{
      {"route", req.route}, {"method", std::string(method_name(req.method))}, {"status", std::to_string(status)}};
  Series s{&registry_.counter("tacos_http_requests_total", labels),
           &registry_.histogram("tacos_http_request_duration_seconds", labels)};
  std::unique_lock lock(mu_);
  cache_.emplace(std::move(key), s);
  return s;
}

void ObservabilityMiddleware::after(const Request& req, Response& res) {
  double seconds = static_cast<double>(SystemClock::instance().steady_us() - req.start_us) / 1e6;
  auto s = series(req, res.status);
  s.requests->inc();
  // (A later step may have set another trace id, the gateway's on the internal listener: only a
  // valid one names a span.)
  const bool recorded = req.sampled && tracing::valid_trace_id(req.trace_id) && tracing::tracer();
  s.duration->observe(seconds, recorded ? std::string_view(req.trace_id) : std::string_view());  // the exemplar
  if (recorded) {
    if (auto* t = tracing::tracer()) {
      tracing::Span span;
      span.trace_id = req.trace_id;
      span.span_id = req.span_id;
      span.parent_span_id = req.parent_span_id;
      span.trace_state = req.trace_state;
      span.name = std::string(method_name(req.method)) + " " + req.route;
      span.kind = tracing::SpanKind::server;
      span.end_unix_ns = tracing::now_unix_ns();
      span.start_unix_ns = span.end_unix_ns - static_cast<std::int64_t>(seconds * 1e9);
      span.attributes = {{"http.route", req.route},
                         {"http.request.method", std::string(method_name(req.method))},
                         {"http.response.status_code", std::to_string(res.status)}};
      span.error = res.status >= 500;
      t->record(std::move(span));
    }
  }
  if (access_log_ && log::enabled(log::Level::info) && sampler_.keep(res.status)) {
    log::info("request",
              {log::str("request_id", req.request_id), log::str("trace_id", req.trace_id),
               log::str("span_id", req.span_id), log::str("method", method_name(req.method)),
               log::str("path", req.path), log::str("route", req.route), log::num("status", res.status),
               log::dbl("duration_ms", seconds * 1000), log::num("bytes", static_cast<long long>(res.body.size())),
               log::str("remote_ip", req.remote_ip), log::str("user_id", req.identity.user_id)});
  }
}

}  // namespace tacos::net

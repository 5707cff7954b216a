#include "net/middleware.hpp"

#include <algorithm>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

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

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::optional<std::string> traceparent_trace_id(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags; a later version may append fields after flags.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  auto version = header.substr(0, 2), trace = header.substr(3, 32), parent = header.substr(36, 16),
       flags = header.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags)) {
    return std::nullopt;
  }
  if (version == "00" && header.size() != 55) return std::nullopt;
  if (header.size() > 55 && header[55] != '-') return std::nullopt;
  auto all_zero = [](std::string_view v) { return v.find_first_not_of('0') == std::string_view::npos; };
  if (all_zero(trace) || all_zero(parent)) return std::nullopt;
  return std::string(trace);
}

std::optional<Response> RequestIdMiddleware::before(Request& req) {
  auto incoming = req.header("x-request-id");
  req.request_id = sane_request_id(incoming) ? std::string(incoming) : new_hex128();
  if (auto trace = traceparent_trace_id(req.header("traceparent"))) {
    req.trace_id = std::move(*trace);
  } else if (auto x = req.header("x-trace-id"); sane_request_id(x)) {
    req.trace_id = std::string(x);
  } else {
    req.trace_id = req.request_id;
  }
  return std::nullopt;
}

void RequestIdMiddleware::after(const Request& req, Response& res) {
  if (!req.request_id.empty()) res.set_header("x-request-id", req.request_id);
}

ObservabilityMiddleware::ObservabilityMiddleware(metrics::Registry& registry, bool access_log)
    : registry_(registry), access_log_(access_log) {}

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
  Series s{&registry_.counter("tacos_http_requests_total", "HTTP requests by route, method and status", labels),
           &registry_.histogram("tacos_http_request_duration_seconds",
                                "HTTP request latency by route, method and status", labels)};
  std::unique_lock lock(mu_);
  cache_.emplace(std::move(key), s);
  return s;
}

void ObservabilityMiddleware::after(const Request& req, Response& res) {
  double seconds = static_cast<double>(SystemClock::instance().steady_us() - req.start_us) / 1e6;
  auto s = series(req, res.status);
  s.requests->inc();
  s.duration->observe(seconds);
  if (access_log_ && log::enabled(log::Level::info)) {
    log::info("request",
              {log::str("request_id", req.request_id), log::str("trace_id", req.trace_id),
               log::str("method", method_name(req.method)), log::str("path", req.path), log::str("route", req.route),
               log::num("status", res.status), log::dbl("duration_ms", seconds * 1000),
               log::num("bytes", static_cast<long long>(res.body.size())), log::str("remote_ip", req.remote_ip),
               log::str("user_id", req.identity.user_id)});
  }
}

}  // namespace tacos::net

#include "net/middleware.hpp"

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace tacos::net {
namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<Response> RequestIdMiddleware::before(Request& req) {
  auto incoming = req.header("x-request-id");
  req.request_id = sane_request_id(incoming) ? std::string(incoming) : new_hex128();
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
    log::info("request", {log::str("request_id", req.request_id), log::str("method", method_name(req.method)),
                          log::str("path", req.path), log::str("route", req.route), log::num("status", res.status),
                          log::dbl("duration_ms", seconds * 1000), log::num("bytes", static_cast<long long>(res.body.size())),
                          log::str("remote_ip", req.remote_ip), log::str("user_id", req.identity.user_id)});
  }
}

}  // namespace tacos::net

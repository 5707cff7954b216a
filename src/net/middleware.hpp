#pragma once
// The pipeline steps every role's server uses: request ids and observability (JSON access log,
// RED metrics per route and status). Gateway-only steps (authentication, rate limits,
// idempotency, CORS) live in roles/gateway.

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "net/server.hpp"

namespace tacos::metrics {
class Registry;
class Counter;
class Histogram;
}

namespace tacos::net {

/// Accepts a sane incoming X-Request-ID (1-64 chars of [A-Za-z0-9._-]) or makes one, and echoes
/// it on the response. Stateless.
class RequestIdMiddleware final : public Middleware {
 public:
  std::optional<Response> before(Request& req) override;
  void after(const Request& req, Response& res) override;
};

/// Records tacos_http_requests_total and tacos_http_request_duration_seconds per
/// route/method/status and writes one access-log line per request when enabled.
class ObservabilityMiddleware final : public Middleware {
 public:
  ObservabilityMiddleware(metrics::Registry& registry, bool access_log);
  void after(const Request& req, Response& res) override;

 private:
  struct Series {
    metrics::Counter* requests;
    metrics::Histogram* duration;
  };
  Series series(const Request& req, int status);

  metrics::Registry& registry_;
  bool access_log_;
  // route+method+status -> series, so the hot path skips rendering label strings.
  std::shared_mutex mu_;
  std::unordered_map<std::string, Series> cache_;
};

}  // namespace tacos::net

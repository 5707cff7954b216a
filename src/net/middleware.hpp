#pragma once
// The pipeline steps every role's server uses: request ids and observability (JSON access log,
// RED metrics per route and status). Gateway-only steps (authentication, rate limits,
// idempotency, CORS) live in roles/gateway.

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "net/server.hpp"

namespace tacos::metrics {
class Registry;
class Counter;
class Histogram;
}  // namespace tacos::metrics

namespace tacos::net {

/// The trace id of a W3C `traceparent` header (32 lower-case hex digits), or nullopt when the
/// header is absent or malformed (all-zero ids, version ff, upper case, wrong lengths).
std::optional<std::string> traceparent_trace_id(std::string_view header);

/// Accepts a sane incoming X-Request-ID (1-64 chars of [A-Za-z0-9._-]) or makes one, and echoes
/// it on the response. Sets the request's trace id (`Request::trace_id`): a valid traceparent's,
/// else a sane X-Trace-Id (the original web app sends a UUID), else the request id. Stateless.
class RequestIdMiddleware final : public Middleware {
 public:
  std::optional<Response> before(Request& req) override;
  void after(const Request& req, Response& res) override;
};

/// Which requests the access log keeps: one in `every` (counted per thread, so no shared counter
/// on the hot path), and every server error (5xx) whatever the rate.
class AccessLogSampler {
 public:
  explicit AccessLogSampler(int every) : every_(every < 1 ? 1 : every) {}
  bool keep(int status) const;

 private:
  std::uint64_t every_;
};

/// Records tacos_http_requests_total and tacos_http_request_duration_seconds per
/// route/method/status and writes an access-log line for the requests `sampler` keeps, when
/// enabled. The line carries the path, never the query string or a header (tokens live there).
class ObservabilityMiddleware final : public Middleware {
 public:
  ObservabilityMiddleware(metrics::Registry& registry, bool access_log, int log_every = 1);
  void after(const Request& req, Response& res) override;

 private:
  struct Series {
    metrics::Counter* requests;
    metrics::Histogram* duration;
  };
  Series series(const Request& req, int status);

  metrics::Registry& registry_;
  bool access_log_;
  AccessLogSampler sampler_;
  // route+method+status -> series, so the hot path skips rendering label strings.
  std::shared_mutex mu_;
  std::unordered_map<std::string, Series> cache_;
};

}  // namespace tacos::net

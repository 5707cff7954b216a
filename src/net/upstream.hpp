#pragma once
// A pooled, asynchronous HTTP/1.1 client for one upstream service (another role, a webhook
// receiver, an identity provider): keep-alive connections per I/O thread, a connect timeout and a
// deadline per request (sent along as X-Request-Deadline-Ms so the callee can give up too),
// retries of idempotent requests with jittered backoff within a retry budget, and a circuit
// breaker. http:// and https:// (OpenSSL, peer verified against the system trust store).
//
// Threads: a request runs on the calling thread's I/O context when the caller is one of the
// pool's threads, else on one of them in turn; its callback runs there. Connections belong to
// their thread and are never shared, so the pool needs no lock; the breaker, the budget and the
// counters are shared under one mutex. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "domain/breaker.hpp"
#include "net/http.hpp"
#include "net/io_pool.hpp"
#include "net/url.hpp"

namespace tacos::metrics {
class Registry;
}

namespace tacos::net {

struct UpstreamOptions {
  std::string name;           // metrics label and messages: "queue", "webhook", "jwks"
  std::vector<HttpUrl> urls;  // one or several instances; requests rotate among them
  std::int64_t connect_timeout_ms = 1000;
  std::int64_t request_timeout_ms = 10'000;  // the longest a request may take; a nearer deadline wins
  int max_attempts = 3;                      // idempotent requests only
  std::int64_t backoff_base_ms = 20;         // doubled per retry, +-50 % jitter
  std::int64_t backoff_max_ms = 500;
  double retry_ratio = 0.1;         // retries per request, over time
  double retry_min_per_sec = 10;    // and a floor
  domain::BreakerSettings breaker;  // per upstream, all instances: counts calls that got no answer at all
  std::size_t max_idle_per_thread = 32;
  std::int64_t idle_keep_ms = 20'000;  // below the servers' idle timeout, so a kept connection is alive
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::string ca_file;  // https trust anchors instead of the system store (tests)
};

/// One request. The target is appended to the URL's path (a URL without a path takes it as is;
/// an empty target sends the URL's own path).
struct OutboundRequest {
  Method method = Method::get;
  std::string target;
  std::vector<Header> headers;
  std::string body;
  std::string content_type = "application/json";
  bool idempotent = false;       // safe to send again: GET, or a call the callee deduplicates
  std::int64_t deadline_us = 0;  // steady clock (SystemClock::steady_us); 0: the caller's, or none
};

class Upstream {
 public:
  /// Any answer (of any status) or an error: UNAVAILABLE (cannot connect, breaker open, retries
  /// spent), TIMEOUT (the deadline passed) or BAD_GATEWAY (the connection broke or the answer was
  /// not HTTP).
  using Done = std::function<void(Result<ClientResponse>)>;

  Upstream(IoPool& io, UpstreamOptions options, const Clock& clock, metrics::Registry* metrics = nullptr);
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  void send(OutboundRequest request, Done done);

  const std::string& name() const;
  domain::BreakerState breaker_state() const;
  std::uint64_t breaker_trips() const;
  /// While the breaker is open, milliseconds until it lets a probe through; else 0.
  std::int64_t retry_after_ms() const;
  struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t attempts = 0;
    std::uint64_t retries = 0;
    std::uint64_t connections_opened = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// The deadline a call made while serving `req` should carry: the request's own, or none.
inline std::int64_t deadline_of(const Request& req) { return req.deadline_us; }

}  // namespace tacos::net

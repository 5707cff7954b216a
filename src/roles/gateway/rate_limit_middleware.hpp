#pragma once
// The gateway's rate limits. Two pipeline steps share one policy:
//
//   before authentication   per client IP (every request), and auth attempts: login and
//                           register per IP, login per username (credential stuffing)
//   after authentication    per signed-in user (every request), and route classes: queue polls
//                           per waiting place, writes per user (or client when anonymous)
//
// A request takes a token from every bucket that applies; an empty bucket answers 429
// RATE_LIMITED with Retry-After. Every limited response carries X-RateLimit-Limit/Remaining/Reset
// of the tightest bucket. In shadow mode nothing is refused: would-be refusals are only counted
// (tacos_rate_limit_decisions_total{outcome="shadow_rejected"}). Probes and metrics (/healthz,
// /readyz, /metrics, /version) and signed webhooks are never limited. Thread-safe.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "net/server.hpp"
#include "roles/gateway/client_ip.hpp"
#include "roles/gateway/rate_limit.hpp"

namespace tacos::metrics {
class Registry;
class Counter;
}  // namespace tacos::metrics

namespace tacos::gateway {

enum class LimitClass : std::uint8_t { ip, auth_ip, login_user, user, queue_poll, writes, kCount };

struct RateLimitSettings {
  bool enabled = true;
  bool shadow = false;
  std::vector<IpNet> trusted_proxies;
  std::array<Limit, static_cast<std::size_t>(LimitClass::kCount)> limits{};
  Limit& operator[](LimitClass c) { return limits[static_cast<std::size_t>(c)]; }
  const Limit& operator[](LimitClass c) const { return limits[static_cast<std::size_t>(c)]; }
};

class RateLimiter {
 public:
  RateLimiter(RateLimitSettings settings, RateLimitStore& store, const Clock& clock, metrics::Registry& metrics);

  /// Sets req.client_ip; the per-IP and auth-attempt buckets.
  std::optional<net::Response> before_auth(net::Request& req);
  /// The per-user and route-class buckets.
  std::optional<net::Response> after_auth(net::Request& req);
  /// X-RateLimit-* from req.rate.
  static void decorate(const net::Request& req, net::Response& res);

  static std::string_view class_name(LimitClass c);

 private:
  /// Takes from one bucket; a refusal (outside shadow mode) becomes the 429 answer.
  std::optional<net::Response> take(net::Request& req, LimitClass c, std::string_view who);

  RateLimitSettings s_;
  RateLimitStore& store_;
  const Clock& clock_;
  struct Outcomes {
    metrics::Counter* allowed;
    metrics::Counter* rejected;
    metrics::Counter* shadow_rejected;
  };
  std::array<Outcomes, static_cast<std::size_t>(LimitClass::kCount)> counters_{};
};

/// The step before authentication; its after() writes the X-RateLimit-* headers.
class RateLimitEdgeMiddleware final : public net::Middleware {
 public:
  explicit RateLimitEdgeMiddleware(std::shared_ptr<RateLimiter> limiter) : limiter_(std::move(limiter)) {}
  std::optional<net::Response> before(net::Request& req) override { return limiter_->before_auth(req); }
  void after(const net::Request& req, net::Response& res) override { RateLimiter::decorate(req, res); }

 private:
  std::shared_ptr<RateLimiter> limiter_;
};

/// The step after authentication.
class RateLimitUserMiddleware final : public net::Middleware {
 public:
  explicit RateLimitUserMiddleware(std::shared_ptr<RateLimiter> limiter) : limiter_(std::move(limiter)) {}
  std::optional<net::Response> before(net::Request& req) override { return limiter_->after_auth(req); }

 private:
  std::shared_ptr<RateLimiter> limiter_;
};

}  // namespace tacos::gateway

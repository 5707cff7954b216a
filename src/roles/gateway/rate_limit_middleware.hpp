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
// (tacos_gateway_rate_limit_decisions_total{outcome="shadow_rejected"}). Probes and metrics (/healthz,
// /readyz, /metrics, /version) and signed webhooks are never limited. Thread-safe.

#include <array>
#include <functional>
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
  // A shared store that cannot be reached: reads go on unchecked, writes are refused (503).
  bool refuse_reads_when_store_down = false;
  bool refuse_writes_when_store_down = true;
  std::vector<IpNet> trusted_proxies;
  std::array<Limit, static_cast<std::size_t>(LimitClass::kCount)> limits{};
  Limit& operator[](LimitClass c) { return limits[static_cast<std::size_t>(c)]; }
  const Limit& operator[](LimitClass c) const { return limits[static_cast<std::size_t>(c)]; }
};

class RateLimiter {
 public:
  enum class Stage : std::uint8_t { before_auth, after_auth };
  using Decided = std::function<void(std::optional<net::Response>)>;

  RateLimiter(RateLimitSettings settings, RateLimitStore& store, const Clock& clock, metrics::Registry& metrics);
  /// Takes the buckets of `stage` for `req` and calls back with the 429 answer or nothing; before
  /// authentication it sets req.client_ip first. Before returning when the store is immediate.
  void check(net::Request& req, Stage stage, Decided done);
  bool immediate() const { return store_.immediate(); }
  /// X-RateLimit-* from req.rate.
  static void decorate(const net::Request& req, net::Response& res);
  static std::string_view class_name(LimitClass c);

 private:
  /// The buckets that apply to `req` at `stage`, in the order they are taken.
  void plan(const net::Request& req, Stage stage, std::vector<LimitClass>& classes,
            std::vector<BucketTake>& buckets) const;
  /// Counts the decisions and records the tightest bucket in req.rate; a refusal (outside
  /// shadow mode) becomes the 429 answer.
  std::optional<net::Response> judge(net::Request& req, const std::vector<LimitClass>& classes,
                                     const std::vector<Decision>& decisions);
  /// The answer when the store cannot be reached: nothing (go on) or 503, as configured.
  std::optional<net::Response> store_down(const net::Request& req, const Error& e);
  void add(std::vector<LimitClass>& classes, std::vector<BucketTake>& buckets, LimitClass c,
           std::string_view who) const;

  RateLimitSettings s_;
  RateLimitStore& store_;
  const Clock& clock_;
  struct Outcomes {
    metrics::Counter* allowed;
    metrics::Counter* rejected;
    metrics::Counter* shadow_rejected;
  };
  std::array<Outcomes, static_cast<std::size_t>(LimitClass::kCount)> counters_{};
  metrics::Counter* store_down_allowed_ = nullptr;
  metrics::Counter* store_down_refused_ = nullptr;
};

/// A RateLimiter stage as a pipeline step: synchronous over an immediate store.
class RateLimitStep : public net::Middleware {
 public:
  RateLimitStep(std::shared_ptr<RateLimiter> limiter, RateLimiter::Stage stage)
      : limiter_(std::move(limiter)), stage_(stage) {}
  std::optional<net::Response> before(net::Request& req) override;
  bool asynchronous(const net::Request&) const override { return !limiter_->immediate(); }
  void before_async(net::Request& req, Next next) override { limiter_->check(req, stage_, std::move(next)); }

 private:
  std::shared_ptr<RateLimiter> limiter_;
  RateLimiter::Stage stage_;
};

/// The step before authentication; its after() writes the X-RateLimit-* headers.
class RateLimitEdgeMiddleware final : public RateLimitStep {
 public:
  explicit RateLimitEdgeMiddleware(std::shared_ptr<RateLimiter> limiter)
      : RateLimitStep(std::move(limiter), RateLimiter::Stage::before_auth) {}
  void after(const net::Request& req, net::Response& res) override { RateLimiter::decorate(req, res); }
};

/// The step after authentication.
class RateLimitUserMiddleware final : public RateLimitStep {
 public:
  explicit RateLimitUserMiddleware(std::shared_ptr<RateLimiter> limiter)
      : RateLimitStep(std::move(limiter), RateLimiter::Stage::after_auth) {}
};

}  // namespace tacos::gateway

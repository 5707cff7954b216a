#pragma once
// Protection for calls to another service: a circuit breaker (stop calling an upstream that keeps
// failing, probe it now and then) and a retry budget (retries stay a small share of the calls, so
// a struggling upstream is not buried under them). Pure rules driven by the caller's clock; not
// thread-safe (net::Upstream guards each with its mutex).

#include <cstdint>

namespace tacos::domain {

struct BreakerSettings {
  int failure_threshold = 5;    // consecutive failures that open the breaker
  std::int64_t open_ms = 2000;  // how long it stays open before one probe may go through
};

enum class BreakerState : std::uint8_t { closed, open, half_open };
const char* to_string(BreakerState s);

/// closed: calls go through; `failure_threshold` failures in a row open it. open: calls are
/// refused at once until `open_ms` passed; then the next call is the probe (half-open) and the
/// others are still refused. The probe's success closes it, its failure opens it again.
class Breaker {
 public:
  explicit Breaker(BreakerSettings settings = {}) : s_(settings) {}

  /// May a call start now? True at most once per open period for the probe.
  bool allow(std::int64_t now_ms);
  void succeeded();
  void failed(std::int64_t now_ms);

  BreakerState state() const { return state_; }
  /// Times it opened (a failed probe counts again).
  std::uint64_t trips() const { return trips_; }
  /// While open: how long until a probe may go; otherwise 0.
  std::int64_t retry_after_ms(std::int64_t now_ms) const;

 private:
  void open(std::int64_t now_ms);
  BreakerSettings s_;
  BreakerState state_ = BreakerState::closed;
  int failures_ = 0;
  std::int64_t opened_ms_ = 0;
  bool probing_ = false;
  std::uint64_t trips_ = 0;
};

/// Retries as a share of calls: every call adds `ratio` of a token, time adds `min_per_sec`
/// tokens a second, and a retry spends one. Full at `max_tokens`.
class RetryBudget {
 public:
  RetryBudget(double ratio = 0.1, double min_per_sec = 10, double max_tokens = 100)
      : ratio_(ratio), min_per_sec_(min_per_sec), max_(max_tokens), tokens_(max_tokens) {}
  void called(std::int64_t now_ms);
  /// Spends a token for one retry; false when the budget is spent.
  bool try_retry(std::int64_t now_ms);
  double tokens() const { return tokens_; }

 private:
  void refill(std::int64_t now_ms);
  double ratio_, min_per_sec_, max_, tokens_;
  std::int64_t last_ms_ = -1;
};

}  // namespace tacos::domain

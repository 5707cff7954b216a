#include "domain/breaker.hpp"

#include <algorithm>

namespace tacos::domain {

const char* to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  return "closed";
}

bool Breaker::allow(std::int64_t now_ms) {
  switch (state_) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      if (now_ms < opened_ms_ + s_.open_ms) return false;
      state_ = BreakerState::half_open;
      probing_ = true;
      return true;
    case BreakerState::half_open:
      if (probing_) return false;  // one probe at a time
      probing_ = true;
      return true;
  }
  return true;
}

void Breaker::succeeded() {
  failures_ = 0;
  probing_ = false;
  state_ = BreakerState::closed;
}

void Breaker::failed(std::int64_t now_ms) {
  if (state_ == BreakerState::half_open) return open(now_ms);
  if (state_ == BreakerState::open) return;  // a call that started before it opened
  if (++failures_ >= s_.failure_threshold) open(now_ms);
}

void Breaker::open(std::int64_t now_ms) {
  state_ = BreakerState::open;
  opened_ms_ = now_ms;
  probing_ = false;
  failures_ = 0;
  ++trips_;
}

std::int64_t Breaker::retry_after_ms(std::int64_t now_ms) const {
  if (state_ != BreakerState::open) return 0;
  return std::max<std::int64_t>(0, opened_ms_ + s_.open_ms - now_ms);
}

void RetryBudget::refill(std::int64_t now_ms) {
  if (last_ms_ >= 0 && now_ms > last_ms_) {
    tokens_ = std::min(max_, tokens_ + min_per_sec_ * static_cast<double>(now_ms - last_ms_) / 1000.0);
  }
  last_ms_ = std::max(last_ms_, now_ms);
}

void RetryBudget::called(std::int64_t now_ms) {
  refill(now_ms);
  tokens_ = std::min(max_, tokens_ + ratio_);
}

bool RetryBudget::try_retry(std::int64_t now_ms) {
  refill(now_ms);
  if (tokens_ < 1.0 - 1e-9) return false;  // ten calls at 0.1 make one token, rounding aside
  tokens_ -= 1.0;
  return true;
}

}  // namespace tacos::domain

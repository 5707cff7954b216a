#pragma once
// Waiting in functional tests: poll until the expected outcome is seen or a deadline passes,
// instead of sleeping a fixed time and hoping it was long enough. A fixed sleep is left only
// where the passage of time is the point of the test, with a comment saying so.

#include <chrono>
#include <thread>

namespace tacos::test {

/// Calls `done()` until it returns true or `timeout_ms` has passed, `every_ms` apart; true if it
/// did. `done()` is called at least once, and once more when the deadline has come. Callers
/// assert on the result with a message saying what did not happen, e.g.
///   EXPECT_TRUE(eventually(5000, [&] { ... })) << "... within 5 s";
template <typename Pred>
bool eventually(int timeout_ms, Pred done, int every_ms = 20) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
  }
}

/// Calls `read()` until `ok(value)` holds for the value read or `timeout_ms` has passed,
/// `every_ms` apart, and returns the last value read, so that the caller's assertions on it
/// report what was actually seen when the deadline passed.
template <typename Read, typename Ok>
auto poll_until(int timeout_ms, Read read, Ok ok, int every_ms = 20) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto value = read();
    if (ok(value) || std::chrono::steady_clock::now() >= deadline) return value;
    std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
  }
}

}  // namespace tacos::test

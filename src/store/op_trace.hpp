#pragma once
// Store transactions as spans: a write op remembers the sampled trace of the request that
// submitted it, and the writer records its transaction as a client span under that request's
// span, with the group commit's size (ops sharing the transaction) as an attribute.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace tacos::store {

struct OpTrace {
  std::string trace_id;        // empty: not sampled (or tracing off): nothing is recorded
  std::string parent_span_id;  // the submitting request's span
  std::string trace_state;     // its W3C tracestate
  std::chrono::steady_clock::time_point queued{};

  /// The calling thread's request, if its trace is recorded.
  static OpTrace current();
  explicit operator bool() const { return !trace_id.empty(); }
};

struct TransactionSpan {
  std::string_view system;  // "sqlite", "postgresql"
  std::chrono::steady_clock::time_point began, ended;
  std::size_t batch_size = 1;  // ops in the transaction
  bool rerun = false;          // run again with a savepoint per op
  bool ok = true;              // the op's (or the commit's) outcome
};

/// Records `tx` as a span of `op`'s trace (a no-op for an op whose trace is not recorded).
void record_transaction(const OpTrace& op, const TransactionSpan& tx);

}  // namespace tacos::store

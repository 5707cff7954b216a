#include "store/op_trace.hpp"

#include "net/call_context.hpp"
#include "net/tracing.hpp"

namespace tacos::store {

OpTrace OpTrace::current() {
  const auto& c = net::current_call();
  if (!c.sampled || c.span_id.empty() || !net::tracing::tracer()) return {};
  return {c.trace_id, c.span_id, c.trace_state, std::chrono::steady_clock::now()};
}

void record_transaction(const OpTrace& op, const TransactionSpan& tx) {
  auto* t = net::tracing::tracer();
  if (!op || !t) return;
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  net::tracing::Span span;
  span.trace_id = op.trace_id;
  span.span_id = net::tracing::new_span_id();
  span.parent_span_id = op.parent_span_id;
  span.trace_state = op.trace_state;
  span.name = "store.transaction";
  span.kind = net::tracing::SpanKind::client;
  // Steady times, placed on the wall clock by how long ago they were.
  const auto now_ns = net::tracing::now_unix_ns();
  const auto now = std::chrono::steady_clock::now();
  span.start_unix_ns = now_ns - duration_cast<nanoseconds>(now - tx.began).count();
  span.end_unix_ns = now_ns - duration_cast<nanoseconds>(now - tx.ended).count();
  span.attributes = {
      {"db.system", std::string(tx.system)},
      {"tacos.store.batch_size", std::to_string(tx.batch_size)},
      {"tacos.store.queue_wait_us",
       std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(tx.began - op.queued).count())}};
  if (tx.rerun) span.attributes.emplace_back("tacos.store.rerun", "true");
  span.error = !tx.ok;
  t->record(std::move(span));
}

}  // namespace tacos::store

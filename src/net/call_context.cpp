#include "net/call_context.hpp"

#include <utility>

#include "common/log.hpp"

namespace tacos::net {

namespace {
thread_local CallContext tl_call;
}  // namespace

void append_trace_fields(std::string& line) {
  const auto& c = tl_call;
  if (c.trace_id.empty()) return;
  line += ",\"trace_id\":";
  log::append_json_string(line, c.trace_id);
  if (!c.span_id.empty()) {
    line += ",\"span_id\":";
    log::append_json_string(line, c.span_id);
  }
}

namespace {
// Every log line written while a request is being served carries its trace.
[[maybe_unused]] const bool installed = [] {
  log::set_context_fields(append_trace_fields);
  return true;
}();
}  // namespace

const CallContext& current_call() { return tl_call; }

CallScope::CallScope(CallContext context) : saved_(std::exchange(tl_call, std::move(context))) {}

CallScope::~CallScope() { tl_call = std::move(saved_); }

}  // namespace tacos::net

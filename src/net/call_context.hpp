#pragma once
// What a call made while serving a request carries to the service it calls: the request's
// deadline and trace context. The server sets it for the time a handler or a middleware step runs on
// its thread; a client reads it when a call starts and sets it again around the call's
// callback, so a chain of calls keeps the first request's deadline.

#include <cstdint>
#include <string>

namespace tacos::net {

struct CallContext {
  std::int64_t deadline_us = 0;  // steady clock; 0: none
  std::string trace_id;
  std::string span_id;  // the server span a call is made from (empty: tracing off)
  bool sampled = false;
  std::string trace_state{};  // the request's W3C tracestate, passed on unchanged
};

/// The calling thread's context (empty outside a request).
const CallContext& current_call();

/// Appends `,"trace_id":…,"span_id":…` of the calling thread's context to a JSON log line (none
/// outside a request). Installed as the logger's context (common/log.hpp), so every line written
/// while serving a request names its trace.
void append_trace_fields(std::string& line);

/// Sets the calling thread's context for its lifetime, then restores the one before.
class CallScope {
 public:
  explicit CallScope(CallContext context);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  CallContext saved_;
};

}  // namespace tacos::net

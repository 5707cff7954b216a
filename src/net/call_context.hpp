#pragma once
// What a call made while serving a request carries to the service it calls: the request's
// deadline and trace id. The server sets it for the time a handler or a middleware step runs on
// its thread; a client reads it when a call starts and sets it again around the call's
// callback, so a chain of calls keeps the first request's deadline.

#include <cstdint>
#include <string>

namespace tacos::net {

struct CallContext {
  std::int64_t deadline_us = 0;  // steady clock; 0: none
  std::string trace_id;
};

/// The calling thread's context (empty outside a request).
const CallContext& current_call();

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

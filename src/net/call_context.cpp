#include "net/call_context.hpp"

#include <utility>

namespace tacos::net {

namespace {
thread_local CallContext tl_call;
}

const CallContext& current_call() { return tl_call; }

CallScope::CallScope(CallContext context) : saved_(std::exchange(tl_call, std::move(context))) {}

CallScope::~CallScope() { tl_call = std::move(saved_); }

}  // namespace tacos::net

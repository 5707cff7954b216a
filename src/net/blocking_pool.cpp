#include "net/blocking_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/log.hpp"

namespace tacos::net {

struct BlockingPool::Impl {
  explicit Impl(int n) : pool(static_cast<std::size_t>(n)) {}
  boost::asio::thread_pool pool;
};

BlockingPool::BlockingPool(int threads) : impl_(std::make_unique<Impl>(threads < 1 ? 1 : threads)) {}
BlockingPool::~BlockingPool() { join(); }

void BlockingPool::submit(std::function<void()> work) {
  boost::asio::post(impl_->pool, [w = std::move(work)] {
    try {
      w();
    } catch (const std::exception& e) {
      log::error("background work failed", {log::str("error", e.what())});
    }
  });
}

void BlockingPool::answer(Responder res, std::string trace_id, std::function<Response()> work) {
  submit([res = std::move(res), trace_id = std::move(trace_id), work = std::move(work)]() mutable {
    try {
      res.send(work());
    } catch (const UnavailableError& e) {
      log::warn("request: dependency unavailable", {log::str("error", e.what()), log::str("trace_id", trace_id)});
      res.send(error_response(Error(Errc::unavailable, "a dependency could not answer; try again"), trace_id));
    } catch (const std::exception& e) {
      log::error("request failed", {log::str("error", e.what()), log::str("trace_id", trace_id)});
      res.send(error_response(Error(Errc::internal, "internal error"), trace_id));
    }
  });
}

void BlockingPool::join() { impl_->pool.join(); }

bool BlockingPool::running_here() const { return impl_->pool.get_executor().running_in_this_thread(); }

void BlockingSyncRoutes::add_sync(Method method, std::string_view pattern, SyncHandler handler) {
  if (!pool_) return target_.add_sync(method, pattern, std::move(handler));
  target_.add(method, pattern, [pool = pool_, h = std::move(handler)](Request& req, Responder res) {
    // A copy: the connection may give up on the request (its deadline) before the pool runs it.
    pool->answer(res, req.trace_id, [&h, req = req]() mutable { return h(req); });
  });
}

}  // namespace tacos::net

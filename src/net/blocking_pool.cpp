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

void BlockingPool::join() { impl_->pool.join(); }

}  // namespace tacos::net

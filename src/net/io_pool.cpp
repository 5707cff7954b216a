#include "net/io_pool.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <optional>
#include <thread>
#include <vector>

namespace tacos::net {

namespace asio = boost::asio;

namespace {
// Which pool (and which of its threads) the current thread runs; a process may hold several pools
// (tests), so the index alone is not enough.
thread_local const void* tl_pool = nullptr;
thread_local int tl_index = -1;
}  // namespace

struct IoPool::Impl {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::thread> threads;  // start()
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::atomic<unsigned> next{0};
};

IoPool::IoPool(int threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    impl_->contexts.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.emplace_back(asio::make_work_guard(*impl_->contexts.back()));
  }
}

IoPool::~IoPool() = default;

int IoPool::size() const { return static_cast<int>(impl_->contexts.size()); }

asio::io_context& IoPool::context(int i) { return *impl_->contexts.at(static_cast<std::size_t>(i)); }

void IoPool::run() {
  auto run_one = [this](int i) {
    tl_pool = this;
    tl_index = i;
    impl_->contexts[static_cast<std::size_t>(i)]->run();
    tl_pool = nullptr;
    tl_index = -1;
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < size(); ++i) threads.emplace_back(run_one, i);
  run_one(0);
  for (auto& t : threads) t.join();
}

void IoPool::start() {
  for (int i = 0; i < size(); ++i) {
    impl_->threads.emplace_back([this, i] {
      tl_pool = this;
      tl_index = i;
      impl_->contexts[static_cast<std::size_t>(i)]->run();
    });
  }
}

void IoPool::join() {
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void IoPool::stop() {
  for (auto& c : impl_->contexts) c->stop();
}

int IoPool::current() const { return tl_pool == this ? tl_index : -1; }

int IoPool::pick() {
  if (auto i = current(); i >= 0) return i;
  return static_cast<int>(impl_->next.fetch_add(1, std::memory_order_relaxed) % impl_->contexts.size());
}

void IoPool::post(int i, std::function<void()> fn) { asio::post(context(i), std::move(fn)); }

}  // namespace tacos::net

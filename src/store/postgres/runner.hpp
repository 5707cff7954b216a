#pragma once
// The bridge from the store's synchronous interfaces (store.hpp) to the asynchronous client: a
// few threads of the store's own run an io_context and a connection pool, and run(body) runs one
// coroutine there with a pooled connection while the calling thread waits for its result.
//
// The caller blocks, so run() is for threads that may: the blocking pool, the ledger's writer
// threads, start-up and tools, never an HTTP I/O thread (decision 0008). A database that cannot
// be reached, or a statement that fails, throws StoreError (as the SQLite store does for a
// failing disk); `body` returns the expected outcomes as values.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "store/postgres/pg.hpp"
#include "store/store.hpp"

namespace tacos::store::pg {

/// A pool of `size` connections with the store's connection settings and timeouts.
PoolOptions pool_options(const PostgresOptions& options, int size);

class Runner {
 public:
  Runner(PoolOptions options, int threads);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  template <typename T>
  T run(std::function<asio::awaitable<T>(Connection&)> body) {
    std::promise<T> done;
    auto result = done.get_future();
    asio::co_spawn(
        io_,
        [this, &body]() -> asio::awaitable<T> {
          auto ex = co_await asio::this_coro::executor;
          auto lease = co_await pool_->acquire(ex);
          if (!lease) throw StoreError(lease.error().message);
          co_return co_await body(*lease.value());
        },
        [&done](std::exception_ptr e, T value) {
          if (e)
            done.set_exception(e);
          else
            done.set_value(std::move(value));
        });
    return result.get();
  }

  /// Throws StoreError with `what` and the error's message unless `r` is ok.
  template <typename T>
  static T& check(Result<T>& r, const char* what) {
    if (!r) throw StoreError(std::string(what) + ": " + r.error().message);
    return r.value();
  }
  static void check(Result<void>& r, const char* what) {
    if (!r) throw StoreError(std::string(what) + ": " + r.error().message);
  }

  Pool& pool() { return *pool_; }
  Deadline deadline() const;

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<Pool> pool_;
  std::vector<std::thread> threads_;
};

}  // namespace tacos::store::pg

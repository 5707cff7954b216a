#pragma once
// One PostgreSQL connection for a thread that may block (a ledger writer thread): each call runs
// its coroutine to the end on the session's own io_context, on the calling thread, so the
// statements of one transaction run on one connection in order. Connects on first use and again
// after the connection broke. Failures to reach the database throw StoreError.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "store/postgres/pg.hpp"
#include "store/store.hpp"

namespace tacos::store::pg {

class BlockingSession {
 public:
  BlockingSession(ConnectOptions options, std::chrono::milliseconds connect_timeout)
      : options_(std::move(options)), connect_timeout_(connect_timeout) {}
  ~BlockingSession() { conn_.reset(); }  // before io_, which its socket belongs to
  BlockingSession(const BlockingSession&) = delete;
  BlockingSession& operator=(const BlockingSession&) = delete;

  template <typename T>
  T run(std::function<asio::awaitable<T>(Connection&)> body) {
    if (!conn_ || conn_->broken()) connect();
    std::optional<T> out;
    std::exception_ptr failed;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<T> { co_return co_await body(*conn_); },
        [&](std::exception_ptr e, T value) {
          failed = e;
          if (!e) out.emplace(std::move(value));
        });
    io_.restart();
    io_.run();
    if (failed) std::rethrow_exception(failed);
    return std::move(*out);
  }

  bool connected() const { return conn_ && !conn_->broken(); }
  Connection* connection() { return conn_.get(); }
  Deadline deadline() const { return std::chrono::steady_clock::now() + options_.statement_timeout; }

 private:
  void connect();

  ConnectOptions options_;
  std::chrono::milliseconds connect_timeout_;
  asio::io_context io_{1};
  std::unique_ptr<Connection> conn_;
};

}  // namespace tacos::store::pg

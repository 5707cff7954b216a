#pragma once
// The HTTP/1.1 server: Boost.Beast on Asio, one C++20 coroutine per connection, keep-alive,
// header/body limits, read and idle timeouts, and graceful shutdown (stop accepting, let
// in-flight requests finish within a deadline). Boost stays inside server.cpp.
//
// Threading: run() drives `threads` I/O threads, each with its own io_context; a connection
// stays on the thread that accepted it for its life. Middleware and handlers may be called from
// any I/O thread and must be thread-safe. Timeouts are deadlines that each thread sweeps every
// 50 ms, not a timer per socket operation.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "net/router.hpp"

namespace tacos::metrics {
class Registry;
}

namespace tacos::net {

/// A step of the request pipeline. before() runs in order after routing; returning a response
/// skips the handler. after() runs in reverse order on every response, including errors.
class Middleware {
 public:
  virtual ~Middleware() = default;
  virtual std::optional<Response> before(Request&) { return std::nullopt; }
  virtual void after(const Request&, Response&) {}
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  int threads = 1;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_count = 100;  // more fields: 431
  std::size_t max_url_bytes = 8192;    // longer request target: 414
  int max_connections = 10000;         // beyond: 503 TOO_MANY_CONNECTIONS, then closed
  int read_timeout_ms = 10000;
  int idle_timeout_ms = 60000;
  int handler_timeout_ms = 60000;  // a handler that has not answered by then: 504 TIMEOUT
  int shutdown_timeout_ms = 10000;
  std::string port_file;  // written with the bound port once listening
};

class Server {
 public:
  Server(ServerOptions options, Router router, std::vector<std::shared_ptr<Middleware>> middleware);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds (throws std::runtime_error if it cannot) and returns the bound port.
  std::uint16_t listen();
  /// Serves until shutdown() completes or SIGINT/SIGTERM arrives (when handle_signals). Blocks.
  void run(bool handle_signals = true);
  /// Starts a graceful shutdown; thread-safe and idempotent.
  void shutdown();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tacos::net

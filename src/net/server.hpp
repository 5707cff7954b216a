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
#include "net/io_pool.hpp"
#include "net/router.hpp"

namespace tacos::metrics {
class Registry;
}

namespace tacos::net {

/// A step of the request pipeline. before() runs in order after routing; a response skips the
/// handler. after() runs in reverse order on every response, including errors.
///
/// A step that must wait for something (a network store, a key fetch) is asynchronous: it returns
/// true from asynchronous() and the server calls before_async(), which must call `next` exactly
/// once, from any thread. The others are called through before(), with no callback to allocate.
class Middleware {
 public:
  using Next = std::function<void(std::optional<Response>)>;
  virtual ~Middleware() = default;
  virtual std::optional<Response> before(Request&) { return std::nullopt; }
  virtual bool asynchronous(const Request&) const { return false; }
  virtual void before_async(Request& req, Next next) { next(before(req)); }
  virtual void after(const Request&, Response&) {}
};

/// The header that carries the caller's remaining time to the callee (milliseconds). A server
/// that trusts it (ServerOptions::trust_deadline_header) does not start a handler for a request
/// whose deadline has passed (504 TIMEOUT), and gives a handler no more time than it leaves.
inline constexpr std::string_view kDeadlineHeader = "x-request-deadline-ms";

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
  /// Honour the caller's X-Request-Deadline-Ms. Only where the callers are other roles (the
  /// internal listener): from the public, a tiny deadline would be a way to make every call
  /// behind the gateway time out and open its breakers.
  bool trust_deadline_header = false;
};

class Server {
 public:
  /// A server on its own I/O threads (options.threads), for tools and tests: run() drives them.
  Server(ServerOptions options, Router router, std::vector<std::shared_ptr<Middleware>> middleware);
  /// A listener on shared I/O threads: start() it, run the pool elsewhere.
  Server(IoPool& io, ServerOptions options, Router router, std::vector<std::shared_ptr<Middleware>> middleware);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The routes and middleware the server will use: add to them before start(), never after (the
  /// I/O threads read them without locks).
  Router& routes();
  std::vector<std::shared_ptr<Middleware>>& middleware();
  /// Binds (throws std::runtime_error if it cannot) and returns the bound port.
  std::uint16_t listen();
  /// Starts accepting on the I/O threads (binds first if listen() was not called).
  void start();
  /// Own threads only: start(), then serve until shutdown() completes or SIGINT/SIGTERM arrives
  /// (when handle_signals). Blocks.
  void run(bool handle_signals = true);
  /// Starts a graceful shutdown: no new connections, in-flight requests finish within the
  /// shutdown timeout, then `drained` runs (and a server on its own threads stops them).
  /// Thread-safe; a second call does nothing.
  void shutdown(std::function<void()> drained = {});
  std::uint16_t port() const;
  /// Connections open now.
  int connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tacos::net

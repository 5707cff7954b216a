#include "net/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/beast_request.hpp"
#include "net/response_wire.hpp"

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(use_awaitable);
constexpr auto kHandlerDeadline = std::chrono::seconds(60);

// Per-connection state visible to shutdown(); touched only on the connection's strand,
// except for the registry map itself, which the server guards with a mutex.
struct ConnState {
  beast::tcp_stream* stream = nullptr;
  bool idle = true;  // waiting for the first byte of the next request
};

// Where an asynchronous handler's response lands; lives on the connection's strand.
struct Slot {
  explicit Slot(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<Response> response;
  std::atomic<std::thread::id> caller{};
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  Router router;
  std::vector<std::shared_ptr<Middleware>> middleware;

  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::atomic<bool> draining{false};
  std::atomic<int> active{0};
  std::uint16_t bound_port = 0;

  std::mutex conns_mu;
  std::unordered_map<std::uint64_t, std::pair<asio::any_io_executor, std::shared_ptr<ConnState>>> conns;
  std::uint64_t next_conn = 0;

  Impl(ServerOptions o, Router r, std::vector<std::shared_ptr<Middleware>> m)
      : opt(std::move(o)), router(std::move(r)), middleware(std::move(m)), ioc(opt.threads) {}

  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket socket, std::uint64_t id, std::shared_ptr<ConnState> st);
  awaitable<void> refuse(tcp::socket socket);
  awaitable<Response> dispatch(Request& req);
  awaitable<Response> invoke(const Handler& handler, Request& req);
  awaitable<void> drain();
  void begin_shutdown();

  Response early_error(Errc code, std::string msg) {
    // Errors found before a Request exists still carry a trace id and pass the outbound
    // middleware (security headers, metrics) through a synthetic request.
    Request req;
    req.request_id = new_hex128();
    req.start_us = SystemClock::instance().steady_us();
    Response r = error_response(Error(code, std::move(msg)), req.request_id);
    r.set_header("x-request-id", req.request_id);
    r.close = true;
    for (auto it = middleware.rbegin(); it != middleware.rend(); ++it) (*it)->after(req, r);
    return r;
  }
};

awaitable<void> Server::Impl::accept_loop() {
  asio::steady_timer backoff(ioc);
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::make_strand(ioc), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || draining) co_return;
      log::warn("accept failed", {log::str("error", ec.message())});
      backoff.expires_after(std::chrono::milliseconds(10));  // e.g. out of file descriptors
      co_await backoff.async_wait(kTuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (active.load() >= opt.max_connections) {
      auto ex = socket.get_executor();
      asio::co_spawn(ex, refuse(std::move(socket)), asio::detached);
      continue;
    }
    auto st = std::make_shared<ConnState>();
    std::uint64_t id;
    {
      std::lock_guard lock(conns_mu);
      id = next_conn++;
      conns.emplace(id, std::make_pair(socket.get_executor(), st));
    }
    ++active;
    auto ex = socket.get_executor();
    asio::co_spawn(ex, session(std::move(socket), id, st), asio::detached);
  }
}

// Over the connection limit: one clear answer instead of a silent reset, then close. Bounded by
// a short timeout so refused peers cannot pile up either.
awaitable<void> Server::Impl::refuse(tcp::socket socket) {
  static std::atomic<std::int64_t> last_warning_us{0};
  auto now = SystemClock::instance().steady_us();
  if (auto last = last_warning_us.load(); now - last > 10'000'000 && last_warning_us.compare_exchange_strong(last, now)) {
    log::warn("connection limit reached: refusing new connections", {log::num("limit", opt.max_connections)});
  }
  beast::tcp_stream stream(std::move(socket));
  Response r = early_error(Errc::too_many_connections, "the server is at its connection limit: try again shortly");
  r.set_header("retry-after", "1");
  std::string head = render_response_head(r, 11, false);
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(r.body)};
  stream.expires_after(std::chrono::seconds(2));
  co_await asio::async_write(stream, bufs, kTuple);
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> Server::Impl::session(tcp::socket socket, std::uint64_t id, std::shared_ptr<ConnState> st) {
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  std::string remote_ip = ec ? std::string() : remote.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  st->stream = &stream;
  beast::flat_buffer buffer;
  const auto read_timeout = std::chrono::milliseconds(opt.read_timeout_ms);
  const auto idle_timeout = std::chrono::milliseconds(opt.idle_timeout_ms);
  bool first = true;

  // The head is rendered into one string and sent with the body in one gathered write: cheaper
  // than Beast's serializer, which allocates per field and walks many small buffers.
  auto write = [&](Response& r, bool keep_alive, bool head, unsigned version) -> awaitable<bool> {
    std::string head_bytes = render_response_head(r, version, keep_alive);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head_bytes), asio::const_buffer()};
    if (!head && !bodyless_status(r.status)) bufs[1] = asio::buffer(r.body);
    stream.expires_after(read_timeout);
    auto [wec, wn] = co_await asio::async_write(stream, bufs, kTuple);
    co_return !wec;
  };

  for (;;) {
    if (draining) break;
    if (buffer.size() == 0) {
      // Idle between requests: shutdown() may close us here without cutting a request short.
      st->idle = true;
      stream.expires_after(first ? read_timeout : idle_timeout);
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      st->idle = false;
      if (rec) break;
      buffer.commit(n);
    }
    st->idle = false;
    stream.expires_after(read_timeout);
    detail::RequestParser parser;
    detail::apply_limits(parser, opt);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    if (hec) {
      if (auto e = detail::header_read_error(hec, opt)) {
        Response r = early_error(e->code, std::move(e->message));
        co_await write(r, false, false, 11);
      }
      break;
    }
    auto& head_msg = parser.get();
    unsigned version = head_msg.version();
    if (auto checked = detail::check_header(parser, opt); !checked) {
      Response r = early_error(checked.error().code, checked.error().message);
      co_await write(r, false, false, version);
      break;
    }
    if (beast::iequals(head_msg[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      co_await http::async_write(stream, cont, kTuple);
    }
    if (!parser.is_done()) {
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (bec) {
        if (auto e = detail::body_read_error(bec, opt)) {
          Response r = early_error(e->code, std::move(e->message));
          co_await write(r, false, false, version);
        }
        break;
      }
    }
    bool keep_alive = parser.get().keep_alive();
    Request req = detail::to_request(parser.release(), remote_ip);
    bool is_head = req.method == Method::head;
    Response res = co_await dispatch(req);
    bool keep = keep_alive && !res.close && !draining;
    if (!co_await write(res, keep, is_head, version) || !keep) break;
    first = false;
  }

  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  st->stream = nullptr;
  {
    std::lock_guard lock(conns_mu);
    conns.erase(id);
  }
  --active;
}

awaitable<Response> Server::Impl::invoke(const Handler& handler, Request& req) {
  auto ex = co_await asio::this_coro::executor;
  auto slot = std::make_shared<Slot>(ex);
  Responder responder([slot, ex](Response&& r) {
    if (slot->caller.load() == std::this_thread::get_id()) {
      slot->response = std::move(r);  // answered synchronously inside the handler call
      return;
    }
    asio::post(ex, [slot, r = std::move(r)]() mutable {
      slot->response = std::move(r);
      slot->timer.cancel();
    });
  });
  slot->caller = std::this_thread::get_id();
  try {
    handler(req, responder);
  } catch (const std::exception& e) {
    log::error("handler threw", {log::str("route", req.route), log::str("error", e.what()),
                                 log::str("request_id", req.request_id)});
    responder.send(error_response(Error(Errc::internal, "internal error"), req.request_id));
  }
  slot->caller = std::thread::id{};
  if (!slot->response) {
    slot->timer.expires_after(kHandlerDeadline);
    co_await slot->timer.async_wait(kTuple);
    if (!slot->response) {
      co_return error_response(Error(Errc::timeout, "the request took too long"), req.request_id);
    }
  }
  co_return std::move(*slot->response);
}

awaitable<Response> Server::Impl::dispatch(Request& req) {
  auto match = router.match(req.method, req.path);
  if (match.handler) {
    req.route = std::string(match.pattern);
    req.params = std::move(match.params);
  }
  std::optional<Response> res;
  std::size_t ran = 0;
  while (ran < middleware.size()) {
    auto r = middleware[ran]->before(req);
    ++ran;
    if (r) {
      res = std::move(r);
      break;
    }
  }
  if (!res) {
    if (match.handler) {
      res = co_await invoke(*match.handler, req);
    } else if (match.path_known) {
      res = error_response(Error(Errc::method_not_allowed, std::string(method_name(req.method)) +
                                                              " is not allowed on " + req.path),
                           req.request_id);
      res->set_header("allow", match.allow);
    } else {
      res = error_response(Error(Errc::not_found, "no route for " + req.path), req.request_id);
    }
  }
  for (std::size_t i = ran; i-- > 0;) middleware[i]->after(req, *res);
  co_return std::move(*res);
}

awaitable<void> Server::Impl::drain() {
  asio::steady_timer timer(ioc);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.shutdown_timeout_ms);
  while (active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kTuple);
  }
  if (active.load() > 0) {
    log::warn("shutdown deadline passed with requests in flight", {log::num("connections", active.load())});
  } else {
    log::info("all connections closed");
  }
  ioc.stop();
}

void Server::Impl::begin_shutdown() {
  if (draining.exchange(true)) return;
  log::info("shutting down: no new connections, finishing in-flight requests",
            {log::num("connections", active.load())});
  boost::system::error_code ec;
  if (acceptor) acceptor->close(ec);
  if (signals) signals->cancel(ec);
  std::lock_guard lock(conns_mu);
  for (auto& [id, entry] : conns) {
    auto st = entry.second;
    asio::post(entry.first, [st] {
      if (st->stream && st->idle) st->stream->socket().close();
    });
  }
  asio::co_spawn(ioc, drain(), asio::detached);
}

Server::Server(ServerOptions options, Router router, std::vector<std::shared_ptr<Middleware>> middleware)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(middleware))) {}

Server::~Server() = default;

std::uint16_t Server::listen() {
  auto& o = impl_->opt;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) throw std::runtime_error("http.host '" + o.host + "' is not an IP address");
  tcp::endpoint ep(addr, o.port);
  auto& acc = impl_->acceptor.emplace(impl_->ioc);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message());
  impl_->bound_port = acc.local_endpoint().port();
  if (!o.port_file.empty()) {
    std::string tmp = o.port_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << impl_->bound_port << "\n";
      if (!f) throw std::runtime_error("cannot write http.port_file " + o.port_file);
    }
    if (std::rename(tmp.c_str(), o.port_file.c_str()) != 0) {
      throw std::runtime_error("cannot write http.port_file " + o.port_file);
    }
  }
  return impl_->bound_port;
}

std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::run(bool handle_signals) {
  auto& im = *impl_;
  if (!im.acceptor) listen();
  if (handle_signals) {
    im.signals.emplace(im.ioc, SIGINT, SIGTERM);
    im.signals->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log::info("signal received", {log::num("signal", sig)});
      impl_->begin_shutdown();
    });
  }
  asio::co_spawn(im.ioc, im.accept_loop(), asio::detached);
  log::info("listening", {log::str("host", im.opt.host), log::num("port", im.bound_port),
                          log::num("threads", im.opt.threads)});
  std::vector<std::thread> threads;
  for (int i = 1; i < im.opt.threads; ++i) threads.emplace_back([&im] { im.ioc.run(); });
  im.ioc.run();
  for (auto& t : threads) t.join();
}

void Server::shutdown() {
  asio::post(impl_->ioc, [this] { impl_->begin_shutdown(); });
}

}  // namespace tacos::net

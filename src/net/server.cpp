#include "net/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/beast_request.hpp"
#include "net/call_context.hpp"
#include "net/response_wire.hpp"

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Each I/O thread runs its own io_context, and a connection stays on one of them for its life:
// no strands, and the concrete executor type instead of any_io_executor.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;
template <class T>
using Task = asio::awaitable<T, Executor>;
constexpr auto kAwait = asio::use_awaitable_t<Executor>{};
constexpr auto kTuple = asio::as_tuple(kAwait);
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// How often each I/O thread looks for connections past their deadline: the granularity of the
// read, idle and handler timeouts.
constexpr auto kSweepInterval = std::chrono::milliseconds(50);

std::int64_t steady_now_us() { return SystemClock::instance().steady_us(); }

// The suspended session of a handler call, type-erased (Asio 1.81's any_completion_handler wraps
// itself without end when moved as an lvalue).
struct Resume {
  virtual ~Resume() = default;
  virtual void operator()() = 0;
};
template <class H>
struct ResumeWith final : Resume {
  explicit ResumeWith(H h) : handler(std::move(h)) {}
  void operator()() override { std::move(handler)(); }
  H handler;
};

// Resumes a suspended session from its I/O thread's queue, never inline.
void resume_later(Executor ex, std::unique_ptr<Resume> resume) {
  asio::post(ex, [r = std::move(resume)] { (*r)(); });
}

// A handler call (or an asynchronous middleware step) waiting for its outcome, which may come
// from any thread.
struct Pending {
  std::optional<Response> response;       // a handler always gives one; a middleware step may not
  std::unique_ptr<Resume> resume;         // the waiting session, once it has suspended
  std::atomic<std::thread::id> caller{};  // set while the call runs synchronously
  bool finished = false;                  // answered or timed out (I/O thread only)
  bool timed_out = false;

  // On the connection's I/O thread. Never resumes inline: the caller may be iterating.
  void finish(Executor ex, std::optional<Response> r, bool timeout = false) {
    if (finished) return;  // an answer after the deadline is dropped
    finished = true;
    timed_out = timeout;
    response = std::move(r);
    if (resume) resume_later(ex, std::move(resume));
  }
  // The completion handed to the call: synchronous when it comes inside the call, else posted.
  void complete(Executor ex, std::shared_ptr<Pending> self, std::optional<Response> r) {
    if (caller.load() == std::this_thread::get_id()) {
      response = std::move(r);
      finished = true;
      return;
    }
    asio::post(ex, [self = std::move(self), ex, r = std::move(r)]() mutable { self->finish(ex, std::move(r)); });
  }
};

// One connection. Lives in its session's coroutine frame; its I/O thread's sweep and shutdown
// reach it through Worker::conns, only on that thread.
struct Conn {
  explicit Conn(Socket s) : socket(std::move(s)) {}
  Socket socket;
  std::int64_t deadline_us = kNever;  // steady clock; past it the sweep closes or times out
  bool idle = true;                   // waiting for the first byte of the next request
  Pending* pending = nullptr;         // the handler call the session is waiting for

  void expires_in(std::int64_t us) { deadline_us = steady_now_us() + us; }
};

struct Worker {
  explicit Worker(asio::io_context& c) : ioc(c), sweep_timer(c.get_executor()) {}
  asio::io_context& ioc;
  std::unordered_set<Conn*> conns;  // touched only on this worker's thread
  Timer sweep_timer;
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  Router router;
  std::vector<std::shared_ptr<Middleware>> middleware;

  std::unique_ptr<IoPool> own_io;  // a server on its own threads
  IoPool& io;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<Acceptor> acceptor;
  std::optional<asio::basic_signal_set<Executor>> signals;
  std::atomic<bool> draining{false};
  std::atomic<int> active{0};
  std::uint16_t bound_port = 0;
  bool started = false;
  std::function<void()> on_drained;

  Impl(std::unique_ptr<IoPool> own, IoPool& pool, ServerOptions o, Router r, std::vector<std::shared_ptr<Middleware>> m)
      : opt(std::move(o)), router(std::move(r)), middleware(std::move(m)), own_io(std::move(own)), io(pool) {
    for (int i = 0; i < io.size(); ++i) workers.push_back(std::make_unique<Worker>(io.context(i)));
  }

  asio::io_context& main_ioc() { return workers.front()->ioc; }

  Task<void> accept_loop();
  Task<void> sweep(Worker& w);
  Task<void> session(Worker& w, Socket socket);
  Task<boost::system::error_code> read_request(Conn& c, beast::flat_buffer& buffer, detail::RequestParser& parser,
                                               bool header_only);
  Task<void> refuse(Worker& w, Socket socket);
  Task<bool> write(Conn& c, Response& r, bool keep_alive, bool head, unsigned version, std::int64_t timeout_us);
  Task<Response> dispatch(Conn& c, Request& req);
  Task<Response> invoke(Conn& c, const Handler& handler, Request& req);
  Task<std::optional<Response>> before_async(Conn& c, Middleware& m, Request& req);
  Task<void> wait(Conn& c, std::shared_ptr<Pending> p, std::int64_t timeout_us);
  std::int64_t handler_timeout_us(const Request& req) const {
    std::int64_t t = opt.handler_timeout_ms * 1000LL;
    if (req.deadline_us > 0) t = std::min(t, req.deadline_us - steady_now_us());
    return std::max<std::int64_t>(t, 0);
  }
  Task<void> drain();
  void begin_shutdown();

  Response early_error(Errc code, std::string msg) {
    // Errors found before a Request exists still carry a trace id and pass the outbound
    // middleware (security headers, metrics) through a synthetic request.
    Request req;
    req.request_id = new_hex128();
    req.trace_id = req.request_id;
    req.start_us = steady_now_us();
    Response r = error_response(Error(code, std::move(msg)), req.trace_id);
    r.set_header("x-request-id", req.request_id);
    r.close = true;
    for (auto it = middleware.rbegin(); it != middleware.rend(); ++it) (*it)->after(req, r);
    return r;
  }
};

Task<void> Server::Impl::accept_loop() {
  Timer backoff(main_ioc().get_executor());
  std::size_t next = 0;
  for (;;) {
    Worker& w = *workers[next++ % workers.size()];
    auto [ec, socket] = co_await acceptor->async_accept(w.ioc, kTuple);
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
      asio::co_spawn(w.ioc, refuse(w, std::move(socket)), asio::detached);
      continue;
    }
    ++active;
    asio::co_spawn(w.ioc, session(w, std::move(socket)), asio::detached);
  }
}

// Closes connections past their deadline and times out handler calls past theirs. One timer per
// I/O thread instead of one per socket operation.
Task<void> Server::Impl::sweep(Worker& w) {
  for (;;) {
    w.sweep_timer.expires_after(kSweepInterval);
    auto [ec] = co_await w.sweep_timer.async_wait(kTuple);
    if (ec) co_return;
    auto now = steady_now_us();
    for (Conn* c : w.conns) {
      if (c->deadline_us > now) continue;
      c->deadline_us = kNever;
      if (c->pending) {
        c->pending->finish(w.ioc.get_executor(), std::nullopt, true);
      } else {
        c->socket.close(ec);  // the session's read or write fails and it ends
      }
    }
  }
}

// Over the connection limit: one clear answer instead of a silent reset, then close. Bounded by
// a short timeout so refused peers cannot pile up either.
Task<void> Server::Impl::refuse(Worker& w, Socket socket) {
  static std::atomic<std::int64_t> last_warning_us{0};
  auto now = steady_now_us();
  if (auto last = last_warning_us.load();
      now - last > 10'000'000 && last_warning_us.compare_exchange_strong(last, now)) {
    log::warn("connection limit reached: refusing new connections", {log::num("limit", opt.max_connections)});
  }
  Conn c(std::move(socket));
  w.conns.insert(&c);
  Response r = early_error(Errc::too_many_connections, "the server is at its connection limit: try again shortly");
  r.set_header("retry-after", "1");
  co_await write(c, r, false, false, 11, 2'000'000);
  boost::system::error_code ec;
  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  w.conns.erase(&c);
}

// The head is rendered into one string and sent with the body in one gathered write: cheaper
// than Beast's serializer, which allocates per field and walks many small buffers.
Task<bool> Server::Impl::write(Conn& c, Response& r, bool keep_alive, bool head, unsigned version,
                               std::int64_t timeout_us) {
  std::string head_bytes = render_response_head(r, version, keep_alive);
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head_bytes), asio::const_buffer()};
  if (!head && !bodyless_status(r.status)) bufs[1] = asio::buffer(r.body);
  c.expires_in(timeout_us);
  auto [ec, n] = co_await asio::async_write(c.socket, bufs, kTuple);
  co_return !ec;
}

// Feeds the parser what the buffer already holds and reads from the socket only when it needs
// more, until the header (`header_only`) or the whole request is parsed. Beast's
// async_read_header and async_read would complete through an extra post even when every byte
// is already buffered, which is the usual case. Errors are what those would report: the
// parser's own (limits, malformed input), the socket's, `end_of_stream` when the peer closed
// before sending anything, and `partial_message` when it closed halfway.
Task<boost::system::error_code> Server::Impl::read_request(Conn& c, beast::flat_buffer& buffer,
                                                           detail::RequestParser& parser, bool header_only) {
  auto done = [&] { return header_only ? parser.is_header_done() : parser.is_done(); };
  boost::system::error_code ec;
  while (!done()) {
    if (buffer.size() > 0) {
      auto used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        if (used > 0) continue;  // a line or chunk was taken; the rest may parse too
      } else if (ec) {
        co_return ec;
      } else if (used > 0) {
        continue;
      }
    }
    auto [rec, n] = co_await c.socket.async_read_some(buffer.prepare(4096), kTuple);
    if (rec == asio::error::eof) {
      if (!parser.got_some()) co_return http::error::end_of_stream;
      parser.put_eof(ec);  // partial_message unless the message may end at end of stream
      if (!ec && !done()) ec = http::error::partial_message;
      co_return ec;
    }
    if (rec) co_return rec;
    buffer.commit(n);
  }
  co_return ec;
}

Task<void> Server::Impl::session(Worker& w, Socket socket) {
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  std::string remote_ip = ec ? std::string() : remote.address().to_string();
  Conn c(std::move(socket));
  w.conns.insert(&c);
  beast::flat_buffer buffer;
  const std::int64_t read_timeout_us = opt.read_timeout_ms * 1000LL;
  const std::int64_t idle_timeout_us = opt.idle_timeout_ms * 1000LL;
  bool first = true;

  for (;;) {
    if (draining) break;
    if (buffer.size() == 0) {
      // Idle between requests: shutdown() may close us here without cutting a request short.
      c.idle = true;
      c.expires_in(first ? read_timeout_us : idle_timeout_us);
      auto [rec, n] = co_await c.socket.async_read_some(buffer.prepare(4096), kTuple);
      c.idle = false;
      if (rec) break;
      buffer.commit(n);
    }
    c.idle = false;
    c.expires_in(read_timeout_us);
    detail::RequestParser parser;
    detail::apply_limits(parser, opt);
    if (auto hec = co_await read_request(c, buffer, parser, true)) {
      if (auto e = detail::header_read_error(hec, opt)) {
        Response r = early_error(e->code, std::move(e->message));
        co_await write(c, r, false, false, 11, read_timeout_us);
      }
      break;
    }
    auto& head_msg = parser.get();
    unsigned version = head_msg.version();
    if (auto checked = detail::check_header(parser, opt); !checked) {
      Response r = early_error(checked.error().code, checked.error().message);
      co_await write(c, r, false, false, version, read_timeout_us);
      break;
    }
    if (beast::iequals(head_msg[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      co_await http::async_write(c.socket, cont, kTuple);
    }
    if (!parser.is_done()) {
      if (auto bec = co_await read_request(c, buffer, parser, false)) {
        if (auto e = detail::body_read_error(bec, opt)) {
          Response r = early_error(e->code, std::move(e->message));
          co_await write(c, r, false, false, version, read_timeout_us);
        }
        break;
      }
    }
    bool keep_alive = parser.get().keep_alive();
    Request req = detail::to_request(parser.release(), remote_ip);
    if (auto d = opt.trust_deadline_header ? req.header(kDeadlineHeader) : std::string_view(); !d.empty()) {
      std::int64_t ms = 0;
      auto [end, perr] = std::from_chars(d.data(), d.data() + d.size(), ms);
      if (perr == std::errc() && end == d.data() + d.size() && ms >= 0) {
        req.deadline_us = req.start_us + std::min<std::int64_t>(ms, 3'600'000) * 1000;
      }
    }
    bool is_head = req.method == Method::head;
    c.deadline_us = kNever;  // the handler has its own deadline (invoke)
    Response res = co_await dispatch(c, req);
    bool keep = keep_alive && !res.close && !draining;
    if (!co_await write(c, res, keep, is_head, version, read_timeout_us) || !keep) break;
    first = false;
  }

  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  w.conns.erase(&c);
  --active;
}

// Suspends the session until `p` is finished (answered, or timed out by the sweep).
Task<void> Server::Impl::wait(Conn& c, std::shared_ptr<Pending> p, std::int64_t timeout_us) {
  if (p->finished) co_return;
  auto ex = c.socket.get_executor();
  c.pending = p.get();
  c.expires_in(timeout_us);
  co_await asio::async_initiate<decltype(kAwait), void()>(
      [&p, ex](auto waiter) {
        auto r = std::make_unique<ResumeWith<decltype(waiter)>>(std::move(waiter));
        if (p->finished) {
          resume_later(ex, std::move(r));
        } else {
          p->resume = std::move(r);
        }
      },
      kAwait);
  c.pending = nullptr;
  c.deadline_us = kNever;
}

Task<Response> Server::Impl::invoke(Conn& c, const Handler& handler, Request& req) {
  auto ex = c.socket.get_executor();
  auto p = std::make_shared<Pending>();
  Responder responder([p, ex](Response&& r) { p->complete(ex, p, std::move(r)); });
  p->caller = std::this_thread::get_id();
  try {
    CallScope scope(
        {steady_now_us() + handler_timeout_us(req), req.trace_id, req.span_id, req.sampled, req.trace_state});
    handler(req, responder);
  } catch (const UnavailableError& e) {  // the store could not answer: try again, not a fault
    log::warn("handler: dependency unavailable",
              {log::str("route", req.route), log::str("error", e.what()), log::str("trace_id", req.trace_id)});
    responder.send(error_response(Error(Errc::unavailable, "a dependency could not answer; try again"), req.trace_id));
  } catch (const std::exception& e) {
    log::error("handler threw", {log::str("route", req.route), log::str("error", e.what()),
                                 log::str("request_id", req.request_id), log::str("trace_id", req.trace_id)});
    responder.send(error_response(Error(Errc::internal, "internal error"), req.trace_id));
  }
  p->caller = std::thread::id{};
  co_await wait(c, p, handler_timeout_us(req));
  if (p->timed_out || !p->response) {
    co_return error_response(Error(Errc::timeout, "the request took too long"), req.trace_id);
  }
  co_return std::move(*p->response);
}

Task<std::optional<Response>> Server::Impl::before_async(Conn& c, Middleware& m, Request& req) {
  auto ex = c.socket.get_executor();
  auto p = std::make_shared<Pending>();
  p->caller = std::this_thread::get_id();
  try {
    CallScope scope(
        {steady_now_us() + handler_timeout_us(req), req.trace_id, req.span_id, req.sampled, req.trace_state});
    m.before_async(req, [p, ex](std::optional<Response> r) { p->complete(ex, p, std::move(r)); });
  } catch (const UnavailableError& e) {
    log::warn("middleware: dependency unavailable",
              {log::str("route", req.route), log::str("error", e.what()), log::str("trace_id", req.trace_id)});
    p->complete(ex, p,
                error_response(Error(Errc::unavailable, "a dependency could not answer; try again"), req.trace_id));
  } catch (const std::exception& e) {
    log::error("middleware threw",
               {log::str("route", req.route), log::str("error", e.what()), log::str("trace_id", req.trace_id)});
    p->complete(ex, p, error_response(Error(Errc::internal, "internal error"), req.trace_id));
  }
  p->caller = std::thread::id{};
  co_await wait(c, p, handler_timeout_us(req));
  if (p->timed_out) co_return error_response(Error(Errc::timeout, "the request took too long"), req.trace_id);
  co_return std::move(p->response);
}

Task<Response> Server::Impl::dispatch(Conn& c, Request& req) {
  auto match = router.match(req.method, req.path);
  if (match.handler) {
    req.route = std::string(match.pattern);
    req.params = std::move(match.params);
  }
  std::optional<Response> res;
  std::size_t ran = 0;
  while (ran < middleware.size()) {
    auto& m = *middleware[ran];
    ++ran;
    std::optional<Response> r;
    // Not a conditional expression: GCC 12 miscompiles co_await inside one.
    if (m.asynchronous(req)) {
      r = co_await before_async(c, m, req);
    } else {
      r = m.before(req);
    }
    if (r) {
      res = std::move(r);
      break;
    }
  }
  if (!res && req.deadline_us > 0 && steady_now_us() >= req.deadline_us) {
    // The caller has given up already: its work is not started (DESIGN.md §4, deadlines).
    res = error_response(Error(Errc::timeout, "the caller's deadline passed before the work started"), req.trace_id);
  }
  if (!res) {
    if (match.handler) {
      res = co_await invoke(c, *match.handler, req);
    } else if (match.path_known) {
      res = error_response(
          Error(Errc::method_not_allowed, std::string(method_name(req.method)) + " is not allowed on " + req.path),
          req.trace_id);
      res->set_header("allow", match.allow);
    } else {
      res = error_response(Error(Errc::not_found, "no route for " + req.path), req.trace_id);
    }
  }
  for (std::size_t i = ran; i-- > 0;) middleware[i]->after(req, *res);
  co_return std::move(*res);
}

Task<void> Server::Impl::drain() {
  Timer timer(main_ioc().get_executor());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.shutdown_timeout_ms);
  while (active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kTuple);
  }
  if (active.load() > 0) {
    log::warn("shutdown deadline passed with requests in flight", {log::num("connections", active.load())});
  } else {
    log::info("all connections closed", {log::num("port", bound_port)});
  }
  // Each sweep timer belongs to its worker's I/O thread: cancelled there, not from this one.
  for (auto& w : workers) asio::post(w->ioc, [w = w.get()] { w->sweep_timer.cancel(); });
  if (on_drained) on_drained();
  if (own_io) own_io->stop();
}

void Server::Impl::begin_shutdown() {
  if (draining.exchange(true)) return;
  log::info("shutting down: no new connections, finishing in-flight requests",
            {log::num("connections", active.load())});
  boost::system::error_code ec;
  if (acceptor) acceptor->close(ec);
  if (signals) signals->cancel(ec);
  for (auto& w : workers) {
    asio::post(w->ioc, [w = w.get()] {
      boost::system::error_code ignored;
      for (Conn* c : w->conns) {
        if (c->idle) c->socket.close(ignored);
      }
    });
  }
  asio::co_spawn(main_ioc(), drain(), asio::detached);
}

Server::Server(ServerOptions options, Router router, std::vector<std::shared_ptr<Middleware>> middleware) {
  auto own = std::make_unique<IoPool>(std::max(1, options.threads));
  auto& pool = *own;
  impl_ = std::make_unique<Impl>(std::move(own), pool, std::move(options), std::move(router), std::move(middleware));
}

Server::Server(IoPool& io, ServerOptions options, Router router, std::vector<std::shared_ptr<Middleware>> middleware)
    : impl_(std::make_unique<Impl>(nullptr, io, std::move(options), std::move(router), std::move(middleware))) {}

Server::~Server() = default;

Router& Server::routes() { return impl_->router; }

std::vector<std::shared_ptr<Middleware>>& Server::middleware() { return impl_->middleware; }

std::uint16_t Server::listen() {
  auto& o = impl_->opt;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) throw std::runtime_error("http.host '" + o.host + "' is not an IP address");
  tcp::endpoint ep(addr, o.port);
  auto& acc = impl_->acceptor.emplace(impl_->main_ioc().get_executor());
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

int Server::connections() const { return impl_->active.load(); }

std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::start() {
  auto& im = *impl_;
  if (im.started) return;
  if (!im.acceptor) listen();
  im.started = true;
  asio::co_spawn(im.main_ioc(), im.accept_loop(), asio::detached);
  for (auto& w : im.workers) asio::co_spawn(w->ioc, im.sweep(*w), asio::detached);
  log::info("listening", {log::str("host", im.opt.host), log::num("port", im.bound_port),
                          log::num("threads", static_cast<std::int64_t>(im.workers.size()))});
}

void Server::run(bool handle_signals) {
  auto& im = *impl_;
  if (!im.own_io) throw std::logic_error("Server::run() is for a server on its own threads");
  start();
  if (handle_signals) {
    im.signals.emplace(im.main_ioc().get_executor(), SIGINT, SIGTERM);
    im.signals->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log::info("signal received", {log::num("signal", sig)});
      impl_->begin_shutdown();
    });
  }
  im.own_io->run();
}

void Server::shutdown(std::function<void()> drained) {
  asio::post(impl_->main_ioc(), [this, drained = std::move(drained)]() mutable {
    if (impl_->draining) return;
    impl_->on_drained = std::move(drained);
    impl_->begin_shutdown();
  });
}

}  // namespace tacos::net

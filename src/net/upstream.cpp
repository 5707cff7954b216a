#include "net/upstream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <random>

#include "common/metrics.hpp"
#include "net/call_context.hpp"
#include "net/server.hpp"
#include "net/tls_client.hpp"
#include "net/tracing.hpp"

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::int64_t steady_us() { return SystemClock::instance().steady_us(); }

std::chrono::steady_clock::time_point at_us(std::int64_t us) {
  // SystemClock::steady_us counts std::chrono::steady_clock's microseconds.
  return std::chrono::steady_clock::time_point(std::chrono::microseconds(us));
}

// Header names and values that could end a line are left out rather than sent.
// (find_first_of with a set calls memchr once per character: 2 % of a poll's instructions.)
bool safe_header_text(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; });
}

// The request line and headers of `req`. Host, User-Agent, the deadline, Content-Type and
// Content-Length are this client's; a caller's header of the same name is dropped.
std::string render_request_head(const OutboundRequest& req, const std::string& target, const std::string& authority,
                                std::int64_t deadline_ms, bool with_body) {
  std::string h;
  h.reserve(192 + target.size() + req.headers.size() * 48);
  h.append(method_name(req.method)).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(authority);
  h.append("\r\nUser-Agent: tacos\r\n");
  for (const auto& hd : req.headers) {
    const auto& n = hd.name;
    if (beast::iequals(n, "host") || beast::iequals(n, "user-agent") || beast::iequals(n, "content-length") ||
        beast::iequals(n, "content-type") || beast::iequals(n, "transfer-encoding") ||
        beast::iequals(n, "connection") || beast::iequals(n, kDeadlineHeader) || !safe_header_text(n) ||
        !safe_header_text(hd.value) || n.empty()) {
      continue;
    }
    h.append(n).append(": ").append(hd.value).append("\r\n");
  }
  h.append(kDeadlineHeader).append(": ").append(std::to_string(deadline_ms)).append("\r\n");
  if (with_body) {
    h.append("Content-Type: ").append(req.content_type).append("\r\nContent-Length: ");
    h.append(std::to_string(req.body.size())).append("\r\n");
  }
  h.append("\r\n");
  return h;
}

// One keep-alive connection, plain or TLS. Lives on one I/O thread.
struct Conn {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::int64_t idle_since_ms = 0;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // A kept connection the peer closed meanwhile reads as end of stream at once: do not reuse it.
  bool peer_closed() {
    char byte;
    auto n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
};

std::string join_target(const HttpUrl& url, const std::string& target) {
  if (target.empty()) return url.target;
  if (url.target == "/") return target;
  std::string base = url.target;
  if (!base.empty() && base.back() == '/') base.pop_back();
  return base + target;
}

}  // namespace

struct Upstream::Impl {
  IoPool& io;
  UpstreamOptions o;
  const Clock& clock;
  std::unique_ptr<ssl::context> tls;
  // Per I/O thread, per URL: idle connections, most recent last. Touched only on that thread.
  std::vector<std::vector<std::deque<std::unique_ptr<Conn>>>> idle;

  mutable std::mutex mu;  // guards what follows
  domain::Breaker breaker;
  domain::RetryBudget budget;
  Stats counters;
  std::mt19937 rng{std::random_device{}()};
  unsigned next_url = 0;

  metrics::Counter* ok = nullptr;
  metrics::Counter* failed = nullptr;
  metrics::Counter* retried = nullptr;
  metrics::Histogram* latency = nullptr;

  Impl(IoPool& pool, UpstreamOptions options, const Clock& c)
      : io(pool),
        o(std::move(options)),
        clock(c),
        breaker(o.breaker),
        budget(o.retry_ratio, o.retry_min_per_sec, std::max(10.0, o.retry_min_per_sec * 10)) {
    idle.resize(static_cast<std::size_t>(io.size()));
    for (auto& per_thread : idle) per_thread.resize(o.urls.size());
  }

  int pick_url() {
    std::lock_guard lock(mu);
    return static_cast<int>(next_url++ % o.urls.size());
  }
  bool allow() {
    std::lock_guard lock(mu);
    return breaker.allow(clock.now_ms());
  }
  void report(bool success) {
    std::lock_guard lock(mu);
    if (success)
      breaker.succeeded();
    else
      breaker.failed(clock.now_ms());
  }
  bool may_retry() {
    std::lock_guard lock(mu);
    if (!budget.try_retry(clock.now_ms())) return false;
    ++counters.retries;
    return true;
  }
  std::int64_t backoff_ms(int attempt) {
    std::lock_guard lock(mu);
    double base = static_cast<double>(std::min(o.backoff_max_ms, o.backoff_base_ms << std::min(attempt - 1, 20)));
    return static_cast<std::int64_t>(base * std::uniform_real_distribution<double>(0.5, 1.5)(rng));
  }
  std::string where(int url) const {
    const auto& u = o.urls[static_cast<std::size_t>(url)];
    return o.name + " (" + u.host + ":" + std::to_string(u.port) + ")";
  }

  asio::awaitable<Result<std::unique_ptr<Conn>>> connect(int url, std::int64_t deadline_us);
  asio::awaitable<Result<ClientResponse>> attempt(int thread, int url, const OutboundRequest& req,
                                                  std::int64_t deadline_us, bool& stale);
  static asio::awaitable<void> run(std::shared_ptr<Impl> self, int thread, OutboundRequest req, Done done);
};

asio::awaitable<Result<std::unique_ptr<Conn>>> Upstream::Impl::connect(int url, std::int64_t deadline_us) {
  const auto& u = o.urls[static_cast<std::size_t>(url)];
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(u.host, std::to_string(u.port), kTuple);
  if (rec) co_return Error(Errc::unavailable, "cannot resolve " + where(url) + ": " + rec.message());
  auto c = std::make_unique<Conn>();
  if (u.tls) {
    c->secure.emplace(ex, *tls);
    if (!tls_expect_peer_name(c->secure->native_handle(), u.host)) {
      co_return Error(Errc::unavailable, "TLS: cannot set the expected host name of " + where(url));
    }
  } else {
    c->plain.emplace(ex);
  }
  auto& low = c->lowest();
  const std::int64_t connect_by = std::min(deadline_us, steady_us() + o.connect_timeout_ms * 1000);
  low.expires_at(at_us(connect_by));
  auto [cec, ep] = co_await low.async_connect(endpoints, kTuple);
  if (cec) {
    if (cec == beast::error::timeout && steady_us() >= deadline_us) {
      co_return Error(Errc::timeout, "no connection to " + where(url) + " before the deadline");
    }
    co_return Error(Errc::unavailable, "cannot connect to " + where(url) + ": " + describe_error(cec));
  }
  boost::system::error_code ignored;
  low.socket().set_option(tcp::no_delay(true), ignored);
  if (c->secure) {
    auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, kTuple);
    if (hec) co_return Error(Errc::unavailable, "TLS handshake with " + where(url) + ": " + describe_error(hec));
  }
  {
    std::lock_guard lock(mu);
    ++counters.connections_opened;
  }
  co_return c;
}

asio::awaitable<Result<ClientResponse>> Upstream::Impl::attempt(int thread, int url, const OutboundRequest& req,
                                                                std::int64_t deadline_us, bool& stale) {
  stale = false;
  auto& pool = idle[static_cast<std::size_t>(thread)][static_cast<std::size_t>(url)];
  std::unique_ptr<Conn> c;
  const auto now_ms = clock.now_ms();
  while (!pool.empty() && !c) {
    c = std::move(pool.back());
    pool.pop_back();
    if (now_ms - c->idle_since_ms > o.idle_keep_ms || c->peer_closed()) c.reset();
  }
  const bool reused = c != nullptr;
  if (!c) {
    auto made = co_await connect(url, deadline_us);
    if (!made) co_return made.error();
    c = std::move(*made);
  }
  const auto& u = o.urls[static_cast<std::size_t>(url)];
  // The head rendered by hand and sent with the body in one gathered write: Beast's serializer
  // was the largest user-space cost of a forwarded request.
  const bool with_body =
      !req.body.empty() || req.method == Method::post || req.method == Method::put || req.method == Method::patch;
  std::string head = render_request_head(req, join_target(u, req.target), u.authority(),
                                         std::max<std::int64_t>(1, (deadline_us - steady_us()) / 1000), with_body);
  std::array<asio::const_buffer, 2> wire{asio::buffer(head), with_body ? asio::buffer(req.body) : asio::const_buffer()};

  c->lowest().expires_at(at_us(deadline_us));
  boost::system::error_code ec;
  if (c->secure) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*c->secure, wire, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(*c->plain, wire, kTuple);
  }
  auto failure = [&](std::string_view step, const boost::system::error_code& e) -> Error {
    if (e == beast::error::timeout) return Error(Errc::timeout, where(url) + " did not answer before the deadline");
    return Error(Errc::bad_gateway, std::string(step) + " " + where(url) + ": " + describe_error(e));
  };
  if (ec) {
    stale = reused;
    co_return failure("sending to", ec);
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_body_bytes);
  if (req.method == Method::head) parser.skip(true);  // the answer to HEAD has headers only
  if (c->secure) {
    std::tie(ec, std::ignore) = co_await http::async_read(*c->secure, c->buffer, parser, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_read(*c->plain, c->buffer, parser, kTuple);
  }
  if (ec) {
    stale = reused && !parser.got_some() && ec != beast::error::timeout;
    co_return failure("reading the answer of", ec);
  }
  auto res = parser.release();
  ClientResponse out;
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.headers.push_back({std::move(name), std::string(f.value())});
  }
  out.body = std::move(res.body());
  if (res.keep_alive() && pool.size() < o.max_idle_per_thread) {
    c->idle_since_ms = clock.now_ms();
    c->lowest().expires_never();
    pool.push_back(std::move(c));
  }
  co_return out;
}

asio::awaitable<void> Upstream::Impl::run(std::shared_ptr<Impl> self, int thread, OutboundRequest req, Done done) {
  const auto& o = self->o;
  const auto started_us = steady_us();
  // The caller's deadline, but never longer than this upstream's own limit.
  const std::int64_t limit_us = started_us + o.request_timeout_ms * 1000;
  const std::int64_t deadline_us = req.deadline_us > 0 ? std::min(req.deadline_us, limit_us) : limit_us;
  {
    std::lock_guard lock(self->mu);
    ++self->counters.requests;
    self->budget.called(self->clock.now_ms());
  }
  std::optional<Result<ClientResponse>> outcome;
  int stale_retries = 0;
  for (int attempt = 1; !outcome; ++attempt) {
    if (steady_us() >= deadline_us) {
      outcome = Error(Errc::timeout, "the deadline for " + o.name + " passed");
      break;
    }
    if (!self->allow()) {
      outcome = Error(Errc::unavailable, o.name + " is not answering (circuit open); try again shortly");
      break;
    }
    {
      std::lock_guard lock(self->mu);
      ++self->counters.attempts;
    }
    int url = self->pick_url();
    bool stale = false;
    auto r = co_await self->attempt(thread, url, req, deadline_us, stale);
    bool upstream_down = r && (r->status == 502 || r->status == 503 || r->status == 504);
    if (!r && stale && req.idempotent && stale_retries++ < 2) {
      // A kept connection that died while idle: try a fresh one at once; the upstream is not blamed.
      self->report(true);
      --attempt;
      continue;
    }
    // Only silence counts against the breaker, or a 504 (the upstream ran out of our time, which
    // is silence said politely). Any other answer means it is there: a 503 may well be about
    // something behind it, such as a webhook receiver or a store.
    self->report(r.ok() && r->status != 504);
    bool retryable = !r ? r.error().code != Errc::timeout : upstream_down;
    if (retryable && req.idempotent && attempt < o.max_attempts && self->may_retry()) {
      auto wait_ms = self->backoff_ms(attempt);
      if (steady_us() + wait_ms * 1000 < deadline_us) {
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(wait_ms));
        co_await timer.async_wait(kTuple);
        continue;
      }
    }
    outcome = std::move(r);
  }
  if (self->latency) self->latency->observe(static_cast<double>(steady_us() - started_us) / 1e6);
  if (auto* c = *outcome && (*outcome)->status < 500 ? self->ok : self->failed) c->inc();
  done(std::move(*outcome));
}

Upstream::Upstream(IoPool& io, UpstreamOptions options, const Clock& clock, metrics::Registry* metrics)
    : impl_(std::make_shared<Impl>(io, std::move(options), clock)) {
  auto& o = impl_->o;
  if (o.urls.empty()) throw std::invalid_argument("upstream " + o.name + " has no URL");
  for (const auto& u : o.urls) {
    if (u.tls && !impl_->tls) {
      auto ctx = tls_client_context(o.ca_file);
      if (!ctx) throw std::runtime_error("upstream " + o.name + ": " + ctx.error().message);
      impl_->tls = std::move(*ctx);
    }
  }
  if (metrics) {
    metrics::Labels l{{"upstream", o.name}};
    auto with = [&](const char* outcome) {
      auto labels = l;
      labels.emplace_back("outcome", outcome);
      return labels;
    };
    impl_->ok = &metrics->counter("tacos_client_requests_total", with("ok"));
    impl_->failed = &metrics->counter("tacos_client_requests_total", with("error"));
    impl_->latency = &metrics->histogram("tacos_client_request_duration_seconds", l);
    std::weak_ptr<Impl> weak = impl_;
    metrics->gauge_fn("tacos_client_breaker_state", l, [weak] {
      auto s = weak.lock();
      if (!s) return 0.0;
      std::lock_guard lock(s->mu);
      return static_cast<double>(static_cast<int>(s->breaker.state()));
    });
    metrics->counter_fn("tacos_client_breaker_trips_total", l, [weak] {
      auto s = weak.lock();
      if (!s) return 0.0;
      std::lock_guard lock(s->mu);
      return static_cast<double>(s->breaker.trips());
    });
    metrics->counter_fn("tacos_client_retries_total", l, [weak] {
      auto s = weak.lock();
      if (!s) return 0.0;
      std::lock_guard lock(s->mu);
      return static_cast<double>(s->counters.retries);
    });
  }
}

Upstream::~Upstream() = default;

void Upstream::send(OutboundRequest request, Done done) {
  // A call made while serving a request inherits its deadline, and its callback runs with it too.
  const auto& ambient = current_call();
  if (request.deadline_us == 0 && ambient.deadline_us > 0) request.deadline_us = ambient.deadline_us;
  // Tracing: the call is a client span, child of the caller's server span; the callee learns it
  // from `traceparent` (sent whether or not the trace is recorded, so the callee does not decide
  // again; unrecorded, it names the caller's span rather than a new one), and records its own
  // server span under it.
  if (!ambient.span_id.empty()) {
    auto span_id = ambient.sampled ? tracing::new_span_id() : ambient.span_id;
    std::erase_if(request.headers, [&ambient](const Header& h) {
      return h.name == "traceparent" || (!ambient.trace_state.empty() && h.name == "tracestate");
    });
    request.headers.push_back({"traceparent", tracing::traceparent(ambient.trace_id, span_id, ambient.sampled)});
    if (!ambient.trace_state.empty()) request.headers.push_back({"tracestate", ambient.trace_state});
    if (ambient.sampled) {
      tracing::Span span;
      span.trace_id = ambient.trace_id;
      span.span_id = std::move(span_id);
      span.parent_span_id = ambient.span_id;
      span.trace_state = ambient.trace_state;
      span.name = std::string(method_name(request.method)) + " " + impl_->o.name;
      span.kind = tracing::SpanKind::client;
      span.start_unix_ns = tracing::now_unix_ns();
      span.attributes = {{"peer.service", impl_->o.name},
                         {"url.path", request.target.substr(0, request.target.find('?'))}};
      done = [span = std::move(span), d = std::move(done)](Result<ClientResponse> r) mutable {
        span.end_unix_ns = tracing::now_unix_ns();
        span.error = !r || r->status >= 500;
        span.attributes.emplace_back("http.response.status_code", r ? std::to_string(r->status) : std::string("none"));
        if (auto* t = tracing::tracer()) t->record(std::move(span));
        d(std::move(r));
      };
    }
  }
  if (ambient.deadline_us > 0 || !ambient.trace_id.empty()) {
    done = [ctx = ambient, d = std::move(done)](Result<ClientResponse> r) {
      CallScope scope(ctx);
      d(std::move(r));
    };
  }
  int thread = impl_->io.pick();
  asio::co_spawn(impl_->io.context(thread), Impl::run(impl_, thread, std::move(request), std::move(done)),
                 asio::detached);
}

const std::string& Upstream::name() const { return impl_->o.name; }

domain::BreakerState Upstream::breaker_state() const {
  std::lock_guard lock(impl_->mu);
  return impl_->breaker.state();
}

std::uint64_t Upstream::breaker_trips() const {
  std::lock_guard lock(impl_->mu);
  return impl_->breaker.trips();
}

std::int64_t Upstream::retry_after_ms() const {
  std::lock_guard lock(impl_->mu);
  return impl_->breaker.retry_after_ms(impl_->clock.now_ms());
}

Upstream::Stats Upstream::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

}  // namespace tacos::net

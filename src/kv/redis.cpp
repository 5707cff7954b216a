#include "kv/redis.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/log.hpp"
#include "net/call_context.hpp"
#include "net/tls_client.hpp"
#include "net/tracing.hpp"

namespace tacos::kv {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string encode_command(const std::vector<std::string>& args) {
  std::size_t size = 16;
  for (const auto& a : args) size += a.size() + 16;
  std::string out;
  out.reserve(size);
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

namespace {

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

Error unavailable(const std::string& why) { return Error(Errc::unavailable, "redis: " + why); }

// One pipelined connection. Lives on the client's thread: no locks.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, const RedisOptions& o, asio::ssl::context* tls)
      : o_(o), io_(io), tls_ctx_(tls), socket_(io), resolver_(io), retry_(io), reader_(redisReaderCreate()) {}
  ~Connection() { redisReaderFree(reader_); }

  enum class State : std::uint8_t { connecting, ready, down, stopped };
  State state() const { return state_; }
  /// Ready and, when a password is set, accepted by the server (commands may queue behind AUTH
  /// before that, but the connection is not counted as up).
  bool up() const { return state_ == State::ready && !awaiting_auth_; }

  void start() {
    if (state_ == State::stopped) return;
    state_ = State::connecting;
    ++generation_;
    connecting_since_ = Clock::now();
    if (tls_ctx_) {
      // A TLS stream cannot be used again once closed: a new one per attempt (the last one kept
      // until the next attempt, for the handlers of its aborted operations).
      retired_tls_ = std::move(tls_);
      tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io_, *tls_ctx_);
    }
    auto self = shared_from_this();
    resolver_.async_resolve(
        o_.host, std::to_string(o_.port),
        [self, gen = generation_](const boost::system::error_code& ec, const tcp::resolver::results_type& at) {
          if (gen != self->generation_ || self->state_ != State::connecting) return;
          if (ec) return self->fail("cannot resolve " + self->o_.host + ": " + ec.message());
          asio::async_connect(self->socket(), at,
                              [self, gen](const boost::system::error_code& ec2, const tcp::endpoint&) {
                                if (gen == self->generation_) self->connected(ec2);
                              });
        });
  }

  void send(std::string frame, Redis::Done done) {
    if (state_ == State::down || state_ == State::stopped) return done(unavailable(down_reason_));
    out_ += frame;
    waiting_.push_back(Pending{std::move(done), Clock::now() + std::chrono::milliseconds(o_.command_timeout_ms)});
    write();
  }

  /// Called by the client's ticker: fails the connection whose oldest command is overdue, or
  /// whose connection attempt is.
  void check(Clock::time_point now) {
    if (state_ == State::connecting && now - connecting_since_ > std::chrono::milliseconds(o_.connect_timeout_ms)) {
      return fail("no connection within " + std::to_string(o_.connect_timeout_ms) + " ms");
    }
    if (state_ == State::ready && !waiting_.empty() && now > waiting_.front().deadline) {
      fail("no answer within " + std::to_string(o_.command_timeout_ms) + " ms");
    }
  }

  void stop() {
    stopping_ = true;
    fail("the client is shutting down");
    state_ = State::stopped;
    retry_.cancel();
  }

 private:
  struct Pending {
    Redis::Done done;
    Clock::time_point deadline;
    bool internal = false;  // AUTH: its reply is checked here, not handed out
  };

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }

  void connected(const boost::system::error_code& ec) {
    if (state_ != State::connecting) return;
    if (ec) return fail("cannot connect to " + o_.host + ":" + std::to_string(o_.port) + ": " + ec.message());
    boost::system::error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return ready();
    if (!net::tls_expect_peer_name(tls_->native_handle(), o_.tls_server_name.empty() ? o_.host : o_.tls_server_name)) {
      return fail("TLS: cannot set the expected server name");
    }
    auto self = shared_from_this();
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self, gen = generation_](const boost::system::error_code& e) {
                            if (gen != self->generation_ || self->state_ != State::connecting) return;
                            if (e) return self->fail("TLS handshake failed: " + e.message());
                            self->ready();
                          });
  }

  // Connected (and TLS set up): AUTH goes first on the wire, then whatever was queued.
  void ready() {
    if (!o_.password.empty()) {
      // First on the wire, ahead of anything queued while connecting.
      std::vector<std::string> auth{"AUTH"};
      if (!o_.username.empty()) auth.push_back(o_.username);
      auth.push_back(o_.password);
      out_.insert(0, encode_command(auth));
      Pending p;
      p.internal = true;
      p.deadline = Clock::now() + std::chrono::milliseconds(o_.command_timeout_ms);
      waiting_.push_front(std::move(p));
      awaiting_auth_ = true;
    }
    state_ = State::ready;
    backoff_ms_ = 0;
    read();
    write();
  }

  void write() {
    if (state_ != State::ready || writing_ || out_.empty()) return;
    writing_ = true;
    auto buf = std::make_shared<std::string>(std::move(out_));
    out_.clear();
    auto self = shared_from_this();
    auto done = [self, buf, gen = generation_](const boost::system::error_code& ec, std::size_t) {
      if (gen != self->generation_) return;  // an earlier socket's write, aborted
      self->writing_ = false;
      if (self->state_ != State::ready) return;
      if (ec) return self->fail("write failed: " + ec.message());
      self->write();
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(*buf), std::move(done));
    } else {
      asio::async_write(socket_, asio::buffer(*buf), std::move(done));
    }
  }

  void read() {
    auto self = shared_from_this();
    auto on_read = [self, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
      if (gen != self->generation_ || self->state_ != State::ready) return;
      if (ec) return self->fail(ec == asio::error::eof ? "the server closed the connection" : ec.message());
      if (redisReaderFeed(self->reader_, self->in_.data(), n) != REDIS_OK) return self->fail("unreadable reply");
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(self->reader_, &raw) != REDIS_OK) return self->fail("unreadable reply");
        if (!raw) break;
        auto* r = static_cast<redisReply*>(raw);
        Reply reply = convert(r);
        freeReplyObject(r);
        if (self->waiting_.empty()) return self->fail("a reply nobody asked for");
        auto p = std::move(self->waiting_.front());
        self->waiting_.pop_front();
        if (p.internal) {
          if (reply.is_error()) {
            log::error("redis refused AUTH", {log::str("error", reply.str)});
            return self->fail("AUTH refused: " + reply.str);
          }
          self->awaiting_auth_ = false;
          continue;
        }
        p.done(std::move(reply));
        if (self->state_ != State::ready) return;  // the callback stopped the client
      }
      self->read();
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(in_), std::move(on_read));
    } else {
      socket_.async_read_some(asio::buffer(in_), std::move(on_read));
    }
  }

  void fail(const std::string& why) {
    if (state_ == State::stopped || state_ == State::down) return;
    if (!stopping_) log::warn("redis connection lost", {log::str("error", why)});
    down_reason_ = why;
    state_ = State::down;
    awaiting_auth_ = false;
    writing_ = false;
    boost::system::error_code ignored;
    socket().close(ignored);
    resolver_.cancel();
    out_.clear();
    redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& p : waiting) {
      if (!p.internal) p.done(unavailable(why));
    }
    backoff_ms_ = std::min(o_.max_backoff_ms, backoff_ms_ == 0 ? 50 : backoff_ms_ * 2);
    retry_.expires_after(std::chrono::milliseconds(backoff_ms_));
    auto self = shared_from_this();
    retry_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec && self->state_ == State::down) self->start();
    });
  }

  const RedisOptions& o_;
  asio::io_context& io_;
  asio::ssl::context* tls_ctx_;  // null: plain TCP
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_, retired_tls_;
  tcp::socket socket_;  // without TLS
  tcp::resolver resolver_;
  asio::steady_timer retry_;
  redisReader* reader_;
  State state_ = State::down;
  std::string down_reason_ = "not connected yet";
  Clock::time_point connecting_since_;
  int backoff_ms_ = 0;
  bool stopping_ = false;
  bool awaiting_auth_ = false;
  std::uint64_t generation_ = 0;  // one per connection attempt: handlers of an earlier socket do nothing
  std::string out_;
  bool writing_ = false;
  std::deque<Pending> waiting_;
  std::array<char, 16384> in_{};
};

}  // namespace

Script::Script(std::string source) : source_(std::move(source)) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  for (auto b : digest) {
    sha1_ += kHex[b >> 4];
    sha1_ += kHex[b & 0xf];
  }
}

struct Redis::Impl {
  explicit Impl(const RedisOptions& o) : ticker(io), guard(asio::make_work_guard(io)) {
    if (o.tls) {
      auto ctx = net::tls_client_context(o.tls_ca_file);
      if (!ctx) {
        throw std::runtime_error("redis: cannot set up TLS" +
                                 (o.tls_ca_file.empty() ? "" : " with the CA file " + o.tls_ca_file) + ": " +
                                 ctx.error().message);
      }
      tls = std::move(*ctx);
    }
    for (int i = 0; i < std::max(1, o.connections); ++i)
      conns.push_back(std::make_shared<Connection>(io, o, tls.get()));
  }

  // A ready connection, round robin; else any (its command then fails at once or waits for the
  // connection being made).
  Connection& pick() {
    for (std::size_t i = 0; i < conns.size(); ++i) {
      auto& c = *conns[next++ % conns.size()];
      if (c.state() == Connection::State::ready) return c;
    }
    return *conns[next++ % conns.size()];
  }

  void tick() {
    ticker.expires_after(std::chrono::milliseconds(20));
    ticker.async_wait([this](const boost::system::error_code& ec) {
      // Stopped: a wait that had already completed when cancel() came is not re-armed, or run()
      // would never return.
      if (ec || stopping) return;
      auto now = Clock::now();
      for (auto& c : conns) c->check(now);
      tick();
    });
  }

  asio::io_context io;
  std::unique_ptr<asio::ssl::context> tls;  // before conns: they use it
  asio::steady_timer ticker;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::vector<std::shared_ptr<Connection>> conns;
  std::size_t next = 0;
  bool stopping = false;  // on the client's thread
  std::thread thread;
};

Redis::Redis(RedisOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {
  asio::post(impl_->io, [this] {
    for (auto& c : impl_->conns) c->start();
    impl_->tick();
  });
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

Redis::~Redis() {
  std::promise<void> stopped;
  asio::post(impl_->io, [this, &stopped] {
    impl_->stopping = true;
    impl_->ticker.cancel();
    for (auto& c : impl_->conns) c->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  // Sockets closed and timers cancelled: run() returns once their handlers have run.
  impl_->guard.reset();
  impl_->thread.join();
}

namespace {
metrics::Histogram& call_durations() {
  static metrics::Histogram h(metrics::latency_buckets());
  return h;
}
std::atomic<std::uint64_t> g_errors{0};
}  // namespace

const metrics::Histogram& call_seconds() { return call_durations(); }
std::uint64_t call_errors() { return g_errors.load(std::memory_order_relaxed); }

void Redis::command(std::vector<std::string> args, Done done) {
  // A client span under the request being served, when its trace is recorded.
  std::optional<net::tracing::Span> span;
  if (const auto& ambient = net::current_call();
      ambient.sampled && !ambient.span_id.empty() && net::tracing::tracer()) {
    span.emplace();
    span->trace_id = ambient.trace_id;
    span->span_id = net::tracing::new_span_id();
    span->parent_span_id = ambient.span_id;
    span->trace_state = ambient.trace_state;
    span->name = "redis " + (args.empty() ? std::string() : args[0]);
    span->kind = net::tracing::SpanKind::client;
    span->start_unix_ns = net::tracing::now_unix_ns();
    span->attributes = {{"db.system", "redis"}, {"db.operation", args.empty() ? std::string() : args[0]}};
  }
  auto timed = [start = std::chrono::steady_clock::now(), span = std::move(span),
                done = std::move(done)](Result<Reply> r) mutable {
    call_durations().observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                             span ? std::string_view(span->trace_id) : std::string_view());
    // NOSCRIPT is not a failure: eval() loads the script and sends the call again.
    bool failed = !r || (r->is_error() && !r->str.starts_with("NOSCRIPT"));
    if (failed) g_errors.fetch_add(1, std::memory_order_relaxed);
    if (span) {
      span->end_unix_ns = net::tracing::now_unix_ns();
      span->error = failed;
      if (auto* t = net::tracing::tracer()) t->record(std::move(*span));
    }
    done(std::move(r));
  };
  asio::post(impl_->io, [this, frame = encode_command(args), done = std::move(timed)]() mutable {
    impl_->pick().send(std::move(frame), std::move(done));
  });
}

void Redis::eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args, Done done) {
  std::vector<std::string> call{"EVALSHA", script.sha1(), std::to_string(keys.size())};
  call.insert(call.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
  call.insert(call.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  auto source = script.source();
  command(call, [this, call, source = std::move(source), done = std::move(done)](Result<Reply> r) mutable {
    if (r && r->is_error() && r->str.starts_with("NOSCRIPT")) {
      // The server forgot the script (restarted, flushed, failed over): EVAL loads it again.
      call[0] = "EVAL";
      call[1] = std::move(source);
      return command(std::move(call), std::move(done));
    }
    done(std::move(r));
  });
}

namespace {
Result<Reply> wait_for(const std::function<void(Redis::Done)>& start) {
  std::promise<Result<Reply>> answer;
  auto got = answer.get_future();
  start([&answer](Result<Reply> r) { answer.set_value(std::move(r)); });
  return got.get();
}
}  // namespace

Result<Reply> Redis::call(std::vector<std::string> args) {
  return wait_for([&](Done d) { command(std::move(args), std::move(d)); });
}

Result<Reply> Redis::call_eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args) {
  return wait_for([&](Done d) { eval(script, std::move(keys), std::move(args), std::move(d)); });
}

int Redis::connected() const {
  std::promise<int> n;
  auto got = n.get_future();
  asio::post(impl_->io, [this, &n] {
    int up = 0;
    for (const auto& c : impl_->conns) up += c->up() ? 1 : 0;
    n.set_value(up);
  });
  return got.get();
}

}  // namespace tacos::kv

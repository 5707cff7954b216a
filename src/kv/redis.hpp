#pragma once
// A Redis client on Asio (decision 0011). hiredis parses the replies; the sockets, pipelining,
// deadlines and reconnection are ours, on one thread the client owns.
//
// A few connections, each pipelined: commands are written as they come (many per write) and
// answered in order. A command that gets no answer by its deadline fails with Errc::unavailable,
// and so does everything else waiting on its connection, which is closed and opened again with
// backoff (a pipelined command cannot be cancelled alone). While a connection is down its
// commands fail at once, so a caller answers 503 instead of hanging. Scripts are called with
// EVALSHA and loaded on NOSCRIPT (after a restart or a FLUSHALL the server has forgotten them).
// AUTH runs first on every connection when a password is set; the password is never logged.
// With `tls`, every connection is TLS with the server's certificate and name verified.
//
// Thread-safe. Callbacks run on the client's thread: they must not block (hand work elsewhere).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"

namespace tacos::kv {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // ACL user; empty: AUTH with the password alone
  std::string password;  // AUTH when not empty
  int connections = 2;
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 1000;
  int max_backoff_ms = 2000;  // between attempts to reconnect, doubling from 50 ms
  // TLS: the server's certificate is verified against tls_ca_file (else the system's CAs) and
  // its name against tls_server_name (else host).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_server_name;
};

/// One reply, owned (hiredis's reply is copied out and freed at once).
struct Reply {
  enum class Type : std::uint8_t { nil, status, error, integer, string, array };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;  // a status, an error or a string
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
};

/// A Lua script, called by its SHA-1 (computed once, here).
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

class Redis {
 public:
  /// A reply (an error reply is a value: Reply::Type::error), or Errc::unavailable when Redis
  /// could not be reached or did not answer in time.
  using Done = std::function<void(Result<Reply>)>;

  explicit Redis(RedisOptions options);
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  void command(std::vector<std::string> args, Done done);
  /// EVALSHA of `script` with its keys and arguments; on NOSCRIPT, EVAL (which loads it) once.
  void eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args, Done done);

  /// The same, waiting for the answer: for start-up, tools and tests, never on an I/O thread or
  /// in a callback of this client.
  Result<Reply> call(std::vector<std::string> args);
  Result<Reply> call_eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args);

  /// Connections open and authenticated now.
  int connected() const;
  const RedisOptions& options() const { return options_; }

 private:
  struct Impl;
  RedisOptions options_;
  std::unique_ptr<Impl> impl_;
};

/// Every client's calls in this process, from send to reply (tacos_kv_call_duration_seconds), and
/// those that failed: unreachable, timed out, or an error reply (tacos_kv_errors_total).
const metrics::Histogram& call_seconds();
std::uint64_t call_errors();

/// RESP encoding of one command (exposed for tests).
std::string encode_command(const std::vector<std::string>& args);

}  // namespace tacos::kv

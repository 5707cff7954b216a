#pragma once
// The internal API between roles: POST /internal/v1/<role>/<call> with a JSON body, answered with
// JSON (2xx) or the error envelope, authenticated with the service secret, and the edge: the
// public routes of a role in another process, forwarded by the gateway.
//
//   RpcChannel   a role's upstream plus the secret: call() for the remote clients, forward() for
//                the gateway's forwarding handlers.
//   rpc_route    registers one call on the internal listener.
//   ServiceAuth  the internal listener's middleware: every /internal/ request must carry the
//                secret; edge requests get the caller's identity from the gateway's headers.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "net/upstream.hpp"

namespace tacos::runtime {

inline constexpr std::string_view kServiceTokenHeader = "x-tacos-service-token";
/// Where a process serves the public routes of its roles for a gateway in another process.
inline constexpr std::string_view kEdgePrefix = "/internal/v1/edge";

class RpcChannel {
 public:
  RpcChannel(std::shared_ptr<net::Upstream> upstream, std::string secret)
      : up_(std::move(upstream)), secret_(std::move(secret)) {}

  /// POST `path` with a JSON body. The answer's body (2xx), the error its envelope names, or the
  /// transport's error (UNAVAILABLE, TIMEOUT, BAD_GATEWAY). `idempotent` calls may be retried.
  void call(std::string path, std::string body, bool idempotent, Done<std::string> done);
  /// Sends a public request on to the role's edge routes, with the caller's identity and trace,
  /// and answers with what comes back: 502, 503 (with Retry-After) or 504 when that fails.
  void forward(const net::Request& req, net::Responder res);

  net::Upstream& upstream() { return *up_; }

 private:
  std::shared_ptr<net::Upstream> up_;
  std::string secret_;
};

/// Registers POST `path` on the internal listener. `handle` gets the body and answers through
/// `reply` with a JSON body (200) or an error (its envelope).
using RpcHandler = std::function<void(std::string body, Done<std::string> reply)>;
void rpc_route(net::Routes& internal, std::string path, RpcHandler handle);

/// The internal listener's guard: /internal/ requests without the secret get 401 (and nothing
/// else is served there but /healthz-style ops routes). An edge request's identity, client address
/// and trace id are taken from the headers the gateway set.
class ServiceAuth final : public net::Middleware {
 public:
  explicit ServiceAuth(std::string secret) : secret_(std::move(secret)) {}
  std::optional<net::Response> before(net::Request& req) override;

 private:
  std::string secret_;
};

/// An error as it came back in an error envelope (`body` of a non-2xx answer).
Error error_from_envelope(int status, std::string_view body);

/// A call whose answer is decoded into T.
template <typename T, typename Decode>
void call_decoded(RpcChannel& channel, std::string path, std::string body, bool idempotent, Decode decode,
                  Done<T> done) {
  channel.call(std::move(path), std::move(body), idempotent, [decode, done = std::move(done)](Result<std::string> r) {
    if (!r) return done(r.error());
    done(decode(*r));
  });
}

/// A call answered with nothing but success or an error.
void call_status(RpcChannel& channel, std::string path, std::string body, bool idempotent, DoneStatus done);
/// A call nobody waits for (a notification); a failure is logged. Retried only when applying it
/// twice changes nothing (`idempotent`).
void notify(RpcChannel& channel, std::string path, std::string body, bool idempotent);

/// The handler side of a call whose request body decodes into T; a body that does not decode is
/// answered VALIDATION_FAILED.
template <typename T, typename Decode, typename Handle>
RpcHandler decoded(Decode decode, Handle handle) {
  return [decode, handle](std::string body, Done<std::string> reply) {
    Result<T> in = decode(body);
    if (!in) return reply(Error(Errc::validation_failed, in.error().message));
    handle(std::move(*in), std::move(reply));
  };
}

}  // namespace tacos::runtime

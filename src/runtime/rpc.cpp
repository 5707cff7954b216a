#include "runtime/rpc.hpp"

#include <openssl/crypto.h>

#include <array>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"

namespace tacos::runtime {

namespace {

// The identity and context the gateway established, as edge headers.
constexpr std::string_view kUserId = "x-tacos-user-id";
constexpr std::string_view kUserRole = "x-tacos-user-role";
constexpr std::string_view kUserName = "x-tacos-username";
constexpr std::string_view kClientIp = "x-tacos-client-ip";
constexpr std::string_view kTraceId = "x-tacos-trace-id";
// Why the gateway refused a bearer token the caller presented: "<CODE> <message>".
constexpr std::string_view kAuthError = "x-tacos-auth-error";

// Request headers that travel to the role unchanged.
constexpr std::array kForwardedRequestHeaders{std::string_view("content-type"),    std::string_view("if-none-match"),
                                              std::string_view("x-client-id"),     std::string_view("cookie"),
                                              std::string_view("idempotency-key"), std::string_view("tacos-signature"),
                                              std::string_view("tracestate"),      std::string_view("x-request-id")};
// `traceparent` is not among them: the upstream client sends the caller's own (its client span).
// Response headers that do not travel back: the gateway's server writes its own.
constexpr std::array kHopHeaders{std::string_view("connection"),   std::string_view("content-length"),
                                 std::string_view("content-type"), std::string_view("server"),
                                 std::string_view("keep-alive"),   std::string_view("transfer-encoding"),
                                 std::string_view("x-request-id"), std::string_view("date")};

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Error error_from_envelope(int status, std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    auto code = errc_from_code(e.value("code", ""));
    if (code) return Error(*code, e.value("message", ""), e.value("field", ""));
  }
  return Error(Errc::bad_gateway, "the upstream answered " + std::to_string(status) + " without an error envelope");
}

void RpcChannel::call(std::string path, std::string body, bool idempotent, Done<std::string> done) {
  net::OutboundRequest r;
  r.method = net::Method::post;
  r.target = std::move(path);
  r.body = std::move(body);
  r.idempotent = idempotent;
  r.headers.push_back({std::string(kServiceTokenHeader), secret_});
  up_->send(std::move(r), [done = std::move(done)](Result<net::ClientResponse> res) {
    if (!res) return done(res.error());
    if (res->status / 100 == 2) return done(std::move(res->body));
    done(error_from_envelope(res->status, res->body));
  });
}

void RpcChannel::forward(const net::Request& req, net::Responder res) {
  net::OutboundRequest r;
  // HEAD goes on as GET: this server writes the GET answer's headers without its body, as for
  // its own routes.
  r.method = req.method == net::Method::head ? net::Method::get : req.method;
  r.target = std::string(kEdgePrefix) + req.target;
  r.body = req.body;
  r.idempotent = req.method == net::Method::get || req.method == net::Method::head;
  if (req.deadline_us > 0) r.deadline_us = req.deadline_us;
  r.headers.push_back({std::string(kServiceTokenHeader), secret_});
  for (const auto& h : req.headers) {
    for (auto name : kForwardedRequestHeaders) {
      if (h.name == name) r.headers.push_back(h);
    }
  }
  if (auto ct = req.header("content-type"); !ct.empty()) r.content_type = std::string(ct);
  if (req.identity.authenticated()) {
    r.headers.push_back({std::string(kUserId), req.identity.user_id});
    r.headers.push_back({std::string(kUserRole), req.identity.role});
    r.headers.push_back({std::string(kUserName), req.identity.username});
  } else if (req.bearer_presented && req.auth_error.code != Errc::internal) {
    r.headers.push_back(
        {std::string(kAuthError), std::string(errc_info(req.auth_error.code).code) + " " + req.auth_error.message});
  }
  r.headers.push_back({std::string(kClientIp), req.client_ip.empty() ? req.remote_ip : req.client_ip});
  r.headers.push_back({std::string(kTraceId), req.trace_id});
  auto trace = req.trace_id;
  auto* up = up_.get();
  up_->send(std::move(r), [res, trace, up](Result<net::ClientResponse> answer) {
    if (!answer) {
      auto response = net::error_response(answer.error(), trace);
      if (answer.error().code == Errc::unavailable || answer.error().code == Errc::timeout ||
          answer.error().code == Errc::bad_gateway) {
        auto wait_s = std::max<std::int64_t>(1, (up->retry_after_ms() + 999) / 1000);
        response.set_header("retry-after", std::to_string(wait_s));
      }
      return res.send(std::move(response));
    }
    net::Response out(answer->status, std::move(answer->body));
    out.content_type = std::string(answer->header("content-type"));
    for (auto& h : answer->headers) {
      bool hop = false;
      for (auto name : kHopHeaders) hop = hop || h.name == name;
      if (!hop) out.headers.push_back(std::move(h));
    }
    res.send(std::move(out));
  });
}

void call_status(RpcChannel& channel, std::string path, std::string body, bool idempotent, DoneStatus done) {
  channel.call(std::move(path), std::move(body), idempotent, [done = std::move(done)](Result<std::string> r) {
    if (!r) return done(r.error());
    done(Status());
  });
}

void notify(RpcChannel& channel, std::string path, std::string body, bool idempotent) {
  auto what = path;
  channel.call(
      std::move(path), std::move(body), idempotent, [what, name = channel.upstream().name()](Result<std::string> r) {
        if (!r) {
          log::warn("a notification to another role was lost",
                    {log::str("upstream", name), log::str("call", what), log::str("error", r.error().message)});
        }
      });
}

void rpc_route(net::Routes& internal, std::string path, RpcHandler handle) {
  internal.add(net::Method::post, path, [handle = std::move(handle)](net::Request& req, net::Responder res) {
    handle(std::move(req.body), [res, trace = req.trace_id](Result<std::string> out) {
      if (!out) return res.send(net::error_response(out.error(), trace));
      res.send(net::Response(200, std::move(*out)));
    });
  });
}

std::optional<net::Response> ServiceAuth::before(net::Request& req) {
  if (!req.path.starts_with("/internal/")) return std::nullopt;
  if (!same_secret(req.header(kServiceTokenHeader), secret_)) {
    return net::error_response(Error(Errc::unauthorized, "the internal API needs the service secret"), req.trace_id);
  }
  if (req.path.starts_with(kEdgePrefix)) {
    if (auto user = req.header(kUserId); !user.empty()) {
      req.identity.user_id = std::string(user);
      req.identity.role = std::string(req.header(kUserRole));
      req.identity.username = std::string(req.header(kUserName));
    }
    if (auto refused = req.header(kAuthError); !refused.empty()) {
      auto space = refused.find(' ');
      auto code = errc_from_code(refused.substr(0, space));
      req.bearer_presented = true;
      req.auth_error = Error(code.value_or(Errc::invalid_token),
                             space == std::string_view::npos ? std::string() : std::string(refused.substr(space + 1)));
    }
    req.client_ip = std::string(req.header(kClientIp));
    if (auto trace = req.header(kTraceId); !trace.empty()) req.trace_id = std::string(trace);
  }
  return std::nullopt;
}

}  // namespace tacos::runtime

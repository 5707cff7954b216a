#pragma once
// Transport-neutral HTTP types shared by the server, the router, middleware and handlers.
// Nothing here includes Boost: handlers and roles stay cheap to compile.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace tacos::net {

enum class Method : std::uint8_t { get, head, post, put, patch, del, options, other };
std::string_view method_name(Method m);
Method parse_method(std::string_view s);

struct Header {
  std::string name;  // lower case
  std::string value;
};

/// Who is calling, as established by the gateway's authentication middleware.
struct Identity {
  std::string user_id;
  std::string username;
  std::string role;  // "user" | "admin"
  bool authenticated() const { return !user_id.empty(); }
  bool is_admin() const { return role == "admin"; }
};

struct Request {
  Method method = Method::get;
  std::string target;  // as received: path and query
  std::string path;    // before '?', percent-decoding left to handlers
  std::string query;   // after '?'
  std::vector<Header> headers;
  std::string body;
  std::string remote_ip;
  std::int64_t start_us = 0;     // steady clock when the request was complete
  std::int64_t deadline_us = 0;  // steady clock; from the caller's X-Request-Deadline-Ms (0: none)

  // Filled in by the pipeline.
  std::string request_id;
  /// The correlation id of logs and error envelopes: the trace id of a valid `traceparent`, else a
  /// sane `X-Trace-Id`, else the request id.
  std::string trace_id;
  /// Tracing (net/tracing.hpp): this request's server span, its parent (a `traceparent`'s span)
  /// and whether the trace is recorded. span_id is empty when tracing is off.
  std::string span_id;
  std::string parent_span_id;
  bool sampled = false;
  /// The incoming W3C `tracestate` (with a valid `traceparent` only), passed on with the trace.
  std::string trace_state;
  std::string route = "unmatched";  // the matched pattern, e.g. /api/v1/events/{id}
  std::vector<std::pair<std::string, std::string>> params;
  Identity identity;
  Error auth_error;  // why a presented bearer token was rejected (code is internal when none)
  bool bearer_presented = false;
  std::string client_ip;  // remote_ip, or the client a trusted proxy forwarded for (gateway)
  /// The tightest rate-limit bucket this request drew from (limit < 0: none), for X-RateLimit-*.
  struct RateInfo {
    std::int64_t limit = -1;
    std::int64_t remaining = 0;
    std::int64_t reset_sec = 0;
  } rate;
  /// Set by the idempotency middleware when this request's response must be stored.
  std::string idempotency_slot;

  std::string_view header(std::string_view lower_name) const;
  std::string_view param(std::string_view name) const;
  /// Percent-decoded query parameter.
  std::optional<std::string> query_param(std::string_view name) const;
  /// The value of cookie `name` from the Cookie header, or empty.
  std::string_view cookie(std::string_view name) const;
};

/// The cookie that carries an anonymous client's id.
inline constexpr std::string_view kClientIdCookie = "tacos_cid";
/// 8-64 characters of [A-Za-z0-9_-].
bool valid_client_id(std::string_view id);
/// An anonymous caller's own id: a valid X-Client-ID header, else a valid tacos_cid cookie, else
/// empty.
std::string_view client_id(const Request& req);

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  std::string content_type = "application/json";
  bool close = false;  // ask the server to close the connection after writing

  Response() = default;
  Response(int s, std::string b, std::string ct = "application/json")
      : status(s), body(std::move(b)), content_type(std::move(ct)) {}

  void set_header(std::string_view name, std::string value);
  std::string_view header(std::string_view lower_name) const;
};

/// A response received from another server (the HTTP clients).
struct ClientResponse {
  int status = 0;
  std::vector<Header> headers;  // names lower case
  std::string body;
  std::string_view header(std::string_view lower_name) const;
};

/// The error envelope {"error":{"code","message","trace_id"}} with the status from the Errc table.
Response error_response(const Error& error, std::string_view trace_id);
std::string percent_decode(std::string_view s);
/// 200 with the body and ETag, or 304 without a body when If-None-Match already names the ETag.
Response conditional(const Request& req, const std::string& body, std::string_view etag,
                     std::string_view cache_control = "no-cache");

/// Completes one request, possibly later and from another thread. The first send() wins; a
/// Responder dropped without sending answers 500 so a buggy handler cannot hang a connection.
class Responder {
 public:
  explicit Responder(std::function<void(Response&&)> deliver);
  void send(Response r) const;
  bool sent() const;

 private:
  struct State {
    std::function<void(Response&&)> deliver;
    std::atomic<bool> sent{false};
    ~State();
  };
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(Request&, Responder)>;
using SyncHandler = std::function<Response(Request&)>;

}  // namespace tacos::net

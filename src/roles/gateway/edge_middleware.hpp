#pragma once
// Browser-facing edge behaviour of the gateway: CORS from an allow-list of origins and the
// security headers every response carries. Both are immutable after construction; thread-safe.

#include <string>
#include <vector>

#include "net/server.hpp"

namespace tacos::gateway {

/// CORS (Fetch standard). Preflights (OPTIONS with Access-Control-Request-Method) are answered
/// here: 204 with the allowed methods and headers for a listed origin, 403 otherwise. Actual
/// requests from a listed origin get Access-Control-Allow-Origin naming that origin (never `*`
/// with credentials); `*` in the list allows any origin, without credentials. The request headers a
/// preflight may ask for come from `http.cors_allowed_headers`, whose default covers this
/// platform's clients and the original web app (X-Trace-Id, W3C trace context).
class CorsMiddleware final : public net::Middleware {
 public:
  CorsMiddleware(std::vector<std::string> allowed_origins, std::string allowed_headers);
  std::optional<net::Response> before(net::Request& req) override;
  void after(const net::Request& req, net::Response& res) override;

  /// Splits "https://a.example, https://b.example" into origins.
  static std::vector<std::string> parse_origins(std::string_view list);

 private:
  bool allowed(std::string_view origin) const;
  void decorate(std::string_view origin, net::Response& res) const;
  std::vector<std::string> origins_;
  std::string allowed_headers_;
  bool any_ = false;
};

/// X-Content-Type-Options, Referrer-Policy, X-Frame-Options on every response; a
/// Content-Security-Policy on HTML (the web UI); Strict-Transport-Security when the deployment
/// says it is served over TLS.
class SecurityHeadersMiddleware final : public net::Middleware {
 public:
  explicit SecurityHeadersMiddleware(bool behind_tls) : behind_tls_(behind_tls) {}
  void after(const net::Request& req, net::Response& res) override;

 private:
  bool behind_tls_;
};

}  // namespace tacos::gateway

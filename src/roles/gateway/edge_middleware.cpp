#include "roles/gateway/edge_middleware.hpp"

#include <algorithm>

namespace tacos::gateway {

namespace {
constexpr std::string_view kAllowMethods = "GET, POST, PATCH, DELETE, OPTIONS";
constexpr std::string_view kExposeHeaders =
    "X-Request-ID, Idempotent-Replayed, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
    "ETag, Location";
}  // namespace

std::vector<std::string> CorsMiddleware::parse_origins(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '/')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

CorsMiddleware::CorsMiddleware(std::vector<std::string> allowed_origins, std::string allowed_headers)
    : origins_(std::move(allowed_origins)), allowed_headers_(std::move(allowed_headers)) {
  any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

bool CorsMiddleware::allowed(std::string_view origin) const {
  return any_ || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

void CorsMiddleware::decorate(std::string_view origin, net::Response& res) const {
  if (any_) {
    res.set_header("access-control-allow-origin", "*");  // never with credentials
  } else {
    res.set_header("access-control-allow-origin", std::string(origin));
    res.set_header("access-control-allow-credentials", "true");
  }
  res.set_header("vary", "Origin");
}

std::optional<net::Response> CorsMiddleware::before(net::Request& req) {
  auto origin = req.header("origin");
  if (req.method != net::Method::options || origin.empty() || req.header("access-control-request-method").empty()) {
    return std::nullopt;
  }
  if (!allowed(origin)) {
    return net::error_response(Error(Errc::forbidden, "origin '" + std::string(origin) + "' is not allowed"),
                               req.trace_id);
  }
  net::Response res(204, "", "");
  decorate(origin, res);
  res.set_header("access-control-allow-methods", std::string(kAllowMethods));
  res.set_header("access-control-allow-headers", allowed_headers_);
  res.set_header("access-control-max-age", "600");
  return res;
}

void CorsMiddleware::after(const net::Request& req, net::Response& res) {
  auto origin = req.header("origin");
  if (origin.empty() || !allowed(origin) || !res.header("access-control-allow-origin").empty()) return;
  decorate(origin, res);
  res.set_header("access-control-expose-headers", std::string(kExposeHeaders));
}

void SecurityHeadersMiddleware::after(const net::Request&, net::Response& res) {
  res.set_header("x-content-type-options", "nosniff");
  res.set_header("referrer-policy", "strict-origin-when-cross-origin");
  res.set_header("x-frame-options", "DENY");
  if (res.content_type.rfind("text/html", 0) == 0) {
    res.set_header("content-security-policy",
                   "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                   "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
  }
  if (behind_tls_) res.set_header("strict-transport-security", "max-age=31536000; includeSubDomains");
}

}  // namespace tacos::gateway

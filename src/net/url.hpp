#pragma once
// Absolute http:// and https:// URLs of other services (upstream roles, webhook receivers, an
// identity provider's JWKS), parsed once where configuration is read.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tacos::net {

struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
  bool tls = false;          // https

  /// host, or host:port when the port is not the scheme's default (the Host header).
  std::string authority() const;
  std::string str() const;
};

/// Parses `http[s]://host[:port][/path[?query]]`; anything else is an error whose message says
/// why (no credentials, a port of 1-65535, a host of letters, digits, '.', '-' and '_').
Result<HttpUrl> parse_http_url(std::string_view url);

}  // namespace tacos::net

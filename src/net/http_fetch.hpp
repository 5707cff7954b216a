#pragma once
// One-shot HTTP(S) GET with a real deadline, for fetching small documents from other services
// (an identity provider's JWKS). Every step (resolve, connect, TLS handshake,
// write, read) runs asynchronously under one timer, so a silent peer cannot hold the caller
// longer than the timeout. https:// verifies the peer against the system trust store (OpenSSL's
// default paths, so SSL_CERT_FILE / SSL_CERT_DIR apply) and checks the certificate names the
// host. Stateless; safe to call from any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "net/url.hpp"

namespace tacos::net {

struct FetchOptions {
  int timeout_ms = 2000;
  std::size_t max_body_bytes = 1024 * 1024;
  std::string ca_file;  // PEM trust anchors for https instead of the system store (tests)
};

/// GETs the URL and returns the body of a 200 answer; UNAVAILABLE for anything else (refused,
/// timed out, other status, body over the limit), with the reason in the message.
Result<std::string> http_get(const HttpUrl& url, const FetchOptions& options = {});

}  // namespace tacos::net

#pragma once
// What the TLS clients need: a verifying client context and the peer name check. For the .cpp
// files of net/ (https) and kv/ (Redis over TLS) only: it includes Boost.

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace tacos::net {

/// A TLS client context: the system's trust store (or `ca_file`), peer verification on.
Result<std::unique_ptr<boost::asio::ssl::context>> tls_client_context(const std::string& ca_file);
/// Names the host for SNI and makes certificate verification check it (a DNS name or an IP).
bool tls_expect_peer_name(SSL* ssl, const std::string& host);
/// A socket, HTTP or TLS error in words ("timed out", "TLS: certificate verify failed").
std::string describe_error(const boost::system::error_code& ec);

}  // namespace tacos::net

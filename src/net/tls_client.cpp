#include "net/tls_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;

// A TLS client context: the system's trust store (or `ca_file`), peer verification on.
Result<std::unique_ptr<ssl::context>> tls_client_context(const std::string& ca_file) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (ca_file.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(ca_file, ec);
  if (ec) return Error(Errc::unavailable, "TLS trust store: " + ec.message());
  ctx->set_verify_mode(ssl::verify_peer, ec);
  return ctx;
}

// Names the host for SNI and makes certificate verification check it (a DNS name or an IP).
bool tls_expect_peer_name(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, ip.to_string().c_str()) == 1;
  // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) == 1 &&
         X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
}

std::string describe_error(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  // SSL errors carry OpenSSL's reason, e.g. "certificate verify failed".
  if (ec.category() == asio::error::get_ssl_category()) return "TLS: " + ec.message();
  return ec.message();
}

}  // namespace tacos::net

#include "net/http_fetch.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <chrono>
#include <functional>
#include <optional>

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Result<HttpUrl> parse_http_url(std::string_view url) {
  auto bad = [&](std::string why) { return Error(Errc::validation_failed, std::move(why)); };
  HttpUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return bad("URL must start with http:// or https://");
  }
  auto slash = rest.find_first_of("/?#");
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto target = rest.substr(slash);
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    out.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  }
  if (authority.find('@') != std::string_view::npos) return bad("URL must not carry credentials");
  auto colon = authority.rfind(':');
  auto host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    auto port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return bad("URL port is not a number from 1 to 65535");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) return bad("URL has no host");
  for (char c : host) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return bad("URL host may hold only letters, digits, '.', '-' and '_'");
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("URL path has spaces or control characters");
  }
  out.host = std::string(host);
  return out;
}

namespace {

// One GET over an established stream (plain or TLS): write, then read into `parser`.
template <typename Stream>
void exchange(Stream& stream, http::request<http::empty_body>& req, beast::flat_buffer& buffer,
              http::response_parser<http::string_body>& parser,
              const std::function<void(std::string_view, const boost::system::error_code&)>& fail) {
  http::async_write(stream, req, [&stream, &buffer, &parser, fail](auto ec, std::size_t) {
    if (ec) return fail("write", ec);
    http::async_read(stream, buffer, parser, [fail](auto ec2, std::size_t) {
      if (ec2) fail("read", ec2);
    });
  });
}

// A TLS client context: the system's trust store (or `ca_file`), peer verification on.
Result<std::unique_ptr<ssl::context>> client_context(const std::string& ca_file) {
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
bool expect_peer_name(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, ip.to_string().c_str()) == 1;
  // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) == 1 &&
         X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
}

std::string describe(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  // SSL errors carry OpenSSL's reason, e.g. "certificate verify failed".
  if (ec.category() == asio::error::get_ssl_category()) return "TLS: " + ec.message();
  return ec.message();
}

}  // namespace

Result<std::string> http_get(const HttpUrl& url, const FetchOptions& options) {
  std::unique_ptr<ssl::context> tls;
  if (url.tls) {
    auto ctx = client_context(options.ca_file);
    if (!ctx) return ctx.error();
    tls = std::move(*ctx);
  }
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  if (tls)
    secure.emplace(ioc, *tls);
  else
    plain.emplace(ioc);
  beast::tcp_stream& lowest = tls ? beast::get_lowest_layer(*secure) : *plain;
  if (tls && !expect_peer_name(secure->native_handle(), url.host)) {
    return Error(Errc::unavailable, "TLS: cannot set the expected host name");
  }

  beast::flat_buffer buffer;
  bool default_port = url.port == (url.tls ? 443 : 80);
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, default_port ? url.host : url.host + ":" + std::to_string(url.port));
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "tacos");
  req.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  std::optional<Error> failure;
  std::function<void(std::string_view, const boost::system::error_code&)> fail =
      [&](std::string_view step, const boost::system::error_code& ec) {
        failure = Error(Errc::unavailable,
                        std::string(step) + " " + url.host + ":" + std::to_string(url.port) + ": " + describe(ec));
      };
  // The stream's timer covers connect, handshake, write and read; resolving gets the same
  // deadline below.
  resolver.async_resolve(url.host, std::to_string(url.port), [&](auto ec, tcp::resolver::results_type hosts) {
    if (ec) return fail("resolve", ec);
    lowest.expires_at(deadline);
    lowest.async_connect(hosts, [&](auto ec2, const auto&) {
      if (ec2) return fail("connect", ec2);
      if (!secure) return exchange(*plain, req, buffer, parser, fail);
      secure->async_handshake(ssl::stream_base::client, [&](auto ec3) {
        if (ec3) return fail("TLS handshake with", ec3);
        exchange(*secure, req, buffer, parser, fail);
      });
    });
  });
  ioc.run_until(deadline);
  if (!ioc.stopped()) {
    // The resolver outlived the deadline: cancel everything and let the handlers unwind.
    resolver.cancel();
    lowest.cancel();
    ioc.run();
    if (!failure) failure = Error(Errc::unavailable, "resolve " + url.host + ": timed out");
  }
  boost::system::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (failure) return *failure;
  if (!parser.is_done()) return Error(Errc::unavailable, "no complete response from " + url.host);
  auto res = parser.release();
  if (res.result_int() != 200) {
    return Error(Errc::unavailable, "GET " + url.target + " answered " + std::to_string(res.result_int()));
  }
  return std::move(res.body());
}

}  // namespace tacos::net

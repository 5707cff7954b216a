#include "net/http_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "net/tls_client.hpp"

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

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

}  // namespace

Result<std::string> http_get(const HttpUrl& url, const FetchOptions& options) {
  std::unique_ptr<ssl::context> tls;
  if (url.tls) {
    auto ctx = tls_client_context(options.ca_file);
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
  if (tls && !tls_expect_peer_name(secure->native_handle(), url.host)) {
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
        failure = Error(Errc::unavailable, std::string(step) + " " + url.host + ":" + std::to_string(url.port) + ": " +
                                               describe_error(ec));
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

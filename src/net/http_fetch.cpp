#include "net/http_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <chrono>
#include <optional>

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<HttpUrl> parse_http_url(std::string_view url) {
  auto bad = [&](std::string why) { return Error(Errc::validation_failed, std::move(why)); };
  constexpr std::string_view kScheme = "http://";
  if (url.starts_with("https://")) return bad("https:// is not supported; use http:// (e.g. through a local proxy)");
  if (!url.starts_with(kScheme)) return bad("URL must start with http://");
  auto rest = url.substr(kScheme.size());
  auto slash = rest.find_first_of("/?#");
  auto authority = rest.substr(0, slash);
  HttpUrl out;
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
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_';
    if (!ok) return bad("URL host may hold only letters, digits, '.', '-' and '_'");
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("URL path has spaces or control characters");
  }
  out.host = std::string(host);
  return out;
}

Result<std::string> http_get(const HttpUrl& url, const FetchOptions& options) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.port == 80 ? url.host : url.host + ":" + std::to_string(url.port));
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "tacos");
  req.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  std::optional<Error> failure;
  auto fail = [&](std::string_view step, const boost::system::error_code& ec) {
    failure = Error(Errc::unavailable, std::string(step) + " " + url.host + ":" + std::to_string(url.port) + ": " +
                                           (ec == beast::error::timeout ? "timed out" : ec.message()));
  };
  // The stream's timer covers connect, write and read; resolving gets the same deadline below.
  resolver.async_resolve(url.host, std::to_string(url.port), [&](auto ec, tcp::resolver::results_type hosts) {
    if (ec) return fail("resolve", ec);
    stream.expires_at(deadline);
    stream.async_connect(hosts, [&](auto ec2, const auto&) {
      if (ec2) return fail("connect", ec2);
      http::async_write(stream, req, [&](auto ec3, std::size_t) {
        if (ec3) return fail("write", ec3);
        http::async_read(stream, buffer, parser, [&](auto ec4, std::size_t) {
          if (ec4) return fail("read", ec4);
        });
      });
    });
  });
  ioc.run_until(deadline);
  if (!ioc.stopped()) {
    // The resolver outlived the deadline: cancel everything and let the handlers unwind.
    resolver.cancel();
    stream.cancel();
    ioc.run();
    if (!failure) failure = Error(Errc::unavailable, "resolve " + url.host + ": timed out");
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (failure) return *failure;
  if (!parser.is_done()) return Error(Errc::unavailable, "no complete response from " + url.host);
  auto res = parser.release();
  if (res.result_int() != 200) {
    return Error(Errc::unavailable, "GET " + url.target + " answered " + std::to_string(res.result_int()));
  }
  return std::move(res.body());
}

}  // namespace tacos::net

#include "net/request_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <cctype>
#include <iterator>

#include "common/clock.hpp"
#include "net/beast_request.hpp"

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace detail {

void apply_limits(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
}

std::optional<Error> header_read_error(const boost::system::error_code& ec, const ServerOptions& options) {
  if (ec == http::error::header_limit) {
    return Error(Errc::headers_too_large,
                 "request headers exceed " + std::to_string(options.max_header_bytes) + " bytes");
  }
  if (ec == http::error::body_limit) {
    // Beast checks a declared Content-Length against body_limit while parsing the header.
    return Error(Errc::payload_too_large, "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
      ec == asio::error::eof || ec == asio::error::connection_reset) {
    return std::nullopt;
  }
  return Error(Errc::bad_request, "malformed HTTP request");
}

std::optional<Error> body_read_error(const boost::system::error_code& ec, const ServerOptions& options) {
  if (ec == http::error::body_limit) {
    return Error(Errc::payload_too_large, "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
  }
  return std::nullopt;
}

Status check_header(const RequestParser& parser, const ServerOptions& options) {
  const auto& head = parser.get();
  if (head.target().size() > options.max_url_bytes) {
    return Error(Errc::uri_too_long, "request target exceeds " + std::to_string(options.max_url_bytes) + " bytes");
  }
  if (auto fields = static_cast<std::size_t>(std::distance(head.begin(), head.end()));
      fields > options.max_header_count) {
    return Error(Errc::headers_too_large, "more than " + std::to_string(options.max_header_count) + " header fields");
  }
  if (auto cl = parser.content_length(); cl && *cl > options.max_body_bytes) {
    return Error(Errc::payload_too_large, "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
  }
  return {};
}

Request to_request(http::request<http::string_body>&& msg, std::string remote_ip) {
  Request req;
  req.method = parse_method(std::string_view(msg.method_string().data(), msg.method_string().size()));
  req.target.assign(msg.target().data(), msg.target().size());
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  // Exactly as many as arrived: a fixed 16 (1 KiB) is a large-bin request that made glibc
  // consolidate its fast bins on every request.
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) {
    std::string name(f.name_string().data(), f.name_string().size());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.push_back(Header{std::move(name), std::string(f.value().data(), f.value().size())});
  }
  req.body = std::move(msg.body());
  req.remote_ip = std::move(remote_ip);
  req.start_us = SystemClock::instance().steady_us();
  return req;
}

}  // namespace detail

namespace {

// Feeds `bytes` to the parser until `done` says stop, the parser fails, or it needs bytes that
// never come; then reports what a read on a socket that reached end of file would have reported.
template <class Done>
boost::system::error_code feed(detail::RequestParser& parser, std::string_view& bytes, Done done) {
  boost::system::error_code ec;
  while (!done()) {
    auto used = parser.put(asio::const_buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (ec == http::error::need_more || (!ec && used == 0)) {  // the latter: no progress, guard the loop
      if (used > 0) {
        ec = {};
        continue;
      }
      // What beast::http::read does on end of file: partial_message once some bytes were parsed.
      if (parser.got_some()) {
        parser.put_eof(ec);
      } else {
        ec = http::error::end_of_stream;
      }
      return ec;
    }
    if (ec) return ec;
  }
  return ec;
}

}  // namespace

Result<Request> parse_request(std::string_view bytes, const ServerOptions& options, std::string remote_ip) {
  detail::RequestParser parser;
  detail::apply_limits(parser, options);
  if (auto ec = feed(parser, bytes, [&] { return parser.is_header_done(); })) {
    if (auto e = detail::header_read_error(ec, options)) return *e;
    return Error(Errc::bad_request, "incomplete HTTP request (the server closes the connection)");
  }
  if (auto st = detail::check_header(parser, options); !st) return st.error();
  if (auto ec = feed(parser, bytes, [&] { return parser.is_done(); })) {
    if (auto e = detail::body_read_error(ec, options)) return *e;
    return Error(Errc::bad_request, "incomplete HTTP request (the server closes the connection)");
  }
  return detail::to_request(parser.release(), std::move(remote_ip));
}

}  // namespace tacos::net

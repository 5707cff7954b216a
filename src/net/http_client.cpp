#include "net/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <stdexcept>

#include "common/ids.hpp"

namespace tacos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  std::chrono::milliseconds timeout{30'000};
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs one asynchronous step to its end on this client's own io_context. Beast's stream
  // deadlines apply only to asynchronous operations: past `timeout` the stream closes the socket
  // and the step fails with beast::error::timeout.
  template <typename Start>
  boost::system::error_code run(Start start) {
    boost::system::error_code result;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void connect() {
    stream.emplace(ioc);
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(host, std::to_string(port));
    stream->expires_after(timeout);
    auto ec = run([&](auto done) { stream->async_connect(endpoints, std::move(done)); });
    if (ec) {
      stream.reset();
      throw std::runtime_error("http connect to " + host + ":" + std::to_string(port) +
                               " failed: " + (ec == beast::error::timeout ? std::string("timed out") : ec.message()));
    }
    buffer.clear();
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() { close(); }

void HttpClient::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout = timeout; }

void HttpClient::close() {
  if (impl_->stream) {
    boost::system::error_code ec;
    impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->stream.reset();
  }
}

ClientResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                   const std::vector<Header>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), std::string(target), 11};
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, impl_->host);
  req.keep_alive(true);
  bool has_type = false;
  bool has_key = false;
  for (const auto& h : headers) {
    req.set(h.name, h.value);
    if (beast::iequals(h.name, "content-type")) has_type = true;
    if (beast::iequals(h.name, "idempotency-key")) has_key = true;
  }
  if (auto_keys_ && !has_key && req.method() == http::verb::post) req.set("Idempotency-Key", new_hex128());
  if (!body.empty() && !has_type) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (!impl_->stream) {
      impl_->connect();
      fresh = true;
    }
    auto& stream = *impl_->stream;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    if (req.method() == http::verb::head) parser.skip(true);
    stream.expires_after(impl_->timeout);  // one deadline for the write and the read
    auto ec = impl_->run([&](auto done) { http::async_write(stream, req, std::move(done)); });
    if (!ec) ec = impl_->run([&](auto done) { http::async_read(stream, impl_->buffer, parser, std::move(done)); });
    if (ec) {
      close();
      if (ec == beast::error::timeout) throw std::runtime_error("http request timed out");
      if (fresh) throw std::runtime_error("http request failed: " + ec.message());
      continue;  // the server closed an idle keep-alive connection; retry once on a new one
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.push_back(Header{std::move(name), std::string(f.value())});
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return out;
  }
  throw std::runtime_error("http request failed");
}

}  // namespace tacos::net

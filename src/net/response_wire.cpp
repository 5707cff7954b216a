#include "net/response_wire.hpp"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace tacos::net {

bool bodyless_status(int status) { return status == 204 || status == 304 || (status >= 100 && status < 200); }

std::string render_response_head(const Response& res, unsigned version, bool keep_alive) {
  auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(res.status));
  bool bodyless = bodyless_status(res.status);
  std::size_t size = 64 + reason.size() + res.content_type.size();
  for (const auto& h : res.headers) size += h.name.size() + h.value.size() + 4;
  std::string out;
  out.reserve(size);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char num[24];
  auto end = std::to_chars(num, num + sizeof num, res.status).ptr;
  out.append(num, end);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: tacos\r\n";
  if (!bodyless && !res.content_type.empty()) {
    out += "Content-Type: ";
    out += res.content_type;
    out += "\r\n";
  }
  for (const auto& h : res.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  if (!bodyless) {
    out += "Content-Length: ";
    end = std::to_chars(num, num + sizeof num, res.body.size()).ptr;
    out.append(num, end);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace tacos::net

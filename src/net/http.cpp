#include "net/http.hpp"

#include "common/log.hpp"

namespace tacos::net {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::patch:
      return "PATCH";
    case Method::del:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::other:
      return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view s) {
  if (s == "GET") return Method::get;
  if (s == "POST") return Method::post;
  if (s == "HEAD") return Method::head;
  if (s == "PUT") return Method::put;
  if (s == "PATCH") return Method::patch;
  if (s == "DELETE") return Method::del;
  if (s == "OPTIONS") return Method::options;
  return Method::other;
}

std::string_view Request::header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.name == lower_name) return h.value;
  }
  return {};
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view Request::cookie(std::string_view name) const {
  std::string_view all = header("cookie");
  while (!all.empty()) {
    auto semi = all.find(';');
    auto part = all.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
    if (semi == std::string_view::npos) break;
    all.remove_prefix(semi + 1);
  }
  return {};
}

bool valid_client_id(std::string_view id) {
  if (id.size() < 8 || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view client_id(const Request& req) {
  if (auto id = req.header("x-client-id"); valid_client_id(id)) return id;
  if (auto id = req.cookie(kClientIdCookie); valid_client_id(id)) return id;
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

void Response::set_header(std::string_view name, std::string value) {
  for (auto& h : headers) {
    if (h.name == name) {
      h.value = std::move(value);
      return;
    }
  }
  // The middleware adds about eight (request id, rate limits, security headers): one allocation
  // for the list instead of one per doubling.
  if (headers.empty()) headers.reserve(10);
  headers.push_back(Header{std::string(name), std::move(value)});
}

std::string_view Response::header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.name == lower_name) return h.value;
  }
  return {};
}

std::string_view ClientResponse::header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.name == lower_name) return h.value;
  }
  return {};
}

Response error_response(const Error& error, std::string_view trace_id) {
  const auto& info = errc_info(error.code);
  std::string body = R"({"error":{"code":)";
  log::append_json_string(body, info.code);
  body += ",\"message\":";
  log::append_json_string(body, error.message.empty() ? std::string(info.code) : error.message);
  if (!error.field.empty()) {
    body += ",\"field\":";
    log::append_json_string(body, error.field);
  }
  body += ",\"trace_id\":";
  log::append_json_string(body, trace_id);
  body += "}}";
  Response r(info.http_status, std::move(body));
  // Every 503 says when to try again; callers that know better (a breaker) set their own.
  if (r.status == 503) r.set_header("retry-after", "1");
  return r;
}

Response conditional(const Request& req, const std::string& body, std::string_view etag,
                     std::string_view cache_control) {
  auto inm = req.header("if-none-match");
  bool match = false;
  while (!inm.empty()) {
    auto comma = inm.find(',');
    auto tag = inm.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);  // weak comparison, RFC 9110 13.1.2
    if (tag == etag || tag == "*") match = true;
    if (comma == std::string_view::npos) break;
    inm.remove_prefix(comma + 1);
  }
  Response r(match ? 304 : 200, match ? std::string() : body);
  r.set_header("etag", std::string(etag));
  r.set_header("cache-control", std::string(cache_control));
  return r;
}

Responder::Responder(std::function<void(Response&&)> deliver) : state_(std::make_shared<State>()) {
  state_->deliver = std::move(deliver);
}

void Responder::send(Response r) const {
  if (state_->sent.exchange(true)) return;
  state_->deliver(std::move(r));
}

bool Responder::sent() const { return state_->sent.load(); }

Responder::State::~State() {
  if (!sent.exchange(true) && deliver) {
    log::error("handler finished without a response");
    deliver(error_response(Error(Errc::internal, "the server did not produce a response"), ""));
  }
}

}  // namespace tacos::net

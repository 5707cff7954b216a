#pragma once
// A small blocking HTTP/1.1 client over one keep-alive connection. Used by the functional tests,
// tools and the payment role's webhook delivery; reconnects once when the server closed an idle
// connection. Connecting and each request (write and read) have a deadline (set_timeout, 30 s by
// default), so a peer that stops answering cannot hold the caller. Not thread-safe: one client
// per thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"

namespace tacos::net {

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Throws std::runtime_error on connection failure or when the deadline passes (no response at
  /// all); the message says which.
  ClientResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                         const std::vector<Header>& headers = {});
  ClientResponse get(std::string_view target, const std::vector<Header>& headers = {}) {
    return request("GET", target, {}, headers);
  }
  ClientResponse post(std::string_view target, std::string_view body, const std::vector<Header>& headers = {}) {
    return request("POST", target, body, headers);
  }
  void close();
  /// The deadline for connecting, and for each request from its first byte sent to the last
  /// byte of its answer.
  void set_timeout(std::chrono::milliseconds timeout);
  /// When on, a POST sent without an Idempotency-Key gets a fresh random one (tools and tests
  /// that speak to the gateway, where every POST under /api/v1 needs one). Off by default.
  void auto_idempotency_keys(bool on) { auto_keys_ = on; }

 private:
  bool auto_keys_ = false;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tacos::net

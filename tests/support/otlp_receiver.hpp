#pragma once
// An OTLP/HTTP (JSON) trace receiver on a loopback port, in the test's own process: what an
// OpenTelemetry collector would get from tacos (net/tracing.hpp). Keeps every span it is sent.

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "net/server.hpp"

namespace tacos::test {

class OtlpReceiver {
 public:
  /// One received span, with the service.name of its resource.
  struct Span {
    std::string service;
    nlohmann::json span;
  };

  OtlpReceiver() {
    net::Router router;
    router.add_sync(net::Method::post, "/v1/traces", [this](net::Request& req) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object()) return net::Response(400, R"({"error":"not JSON"})");
      std::lock_guard lock(mu_);
      for (const auto& rs : body["resourceSpans"]) {
        std::string service;
        for (const auto& a : rs["resource"]["attributes"]) {
          if (a["key"] == "service.name") service = a["value"]["stringValue"];
        }
        for (const auto& ss : rs["scopeSpans"]) {
          for (const auto& s : ss["spans"]) spans_.push_back({service, s});
        }
      }
      ++posts_;
      return net::Response(200, "{}");
    });
    net::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    server_ = std::make_unique<net::Server>(o, std::move(router), std::vector<std::shared_ptr<net::Middleware>>{});
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~OtlpReceiver() {
    server_->shutdown();
    thread_.join();
  }
  OtlpReceiver(const OtlpReceiver&) = delete;
  OtlpReceiver& operator=(const OtlpReceiver&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  std::vector<Span> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }
  /// The spans of one trace.
  std::vector<Span> trace(const std::string& trace_id) {
    std::vector<Span> out;
    for (auto& s : spans()) {
      if (s.span["traceId"] == trace_id) out.push_back(std::move(s));
    }
    return out;
  }
  int posts() {
    std::lock_guard lock(mu_);
    return posts_;
  }

 private:
  std::mutex mu_;
  std::vector<Span> spans_;
  int posts_ = 0;
  std::unique_ptr<net::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace tacos::test

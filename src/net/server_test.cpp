// The server's handler paths in process: answers from the handler's own thread, from another
// thread later, never (the handler deadline), and the read timeout of a silent connection.

#include "net/server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "net/http_client.hpp"

namespace tacos::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class ServerHandlers : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add_sync(Method::get, "/sync", [](Request&) { return Response(200, "sync"); });
    router.add(Method::get, "/later", [this](Request&, Responder r) {
      std::lock_guard lock(mu_);
      answerers_.emplace_back([r] {
        std::this_thread::sleep_for(milliseconds(20));
        r.send(Response(200, "later"));
      });
    });
    router.add(Method::get, "/never", [this](Request&, Responder r) {
      std::lock_guard lock(mu_);
      held_.push_back(std::move(r));
    });
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.read_timeout_ms = 300;
    o.handler_timeout_ms = 300;
    server_ = std::make_unique<Server>(o, std::move(router), std::vector<std::shared_ptr<Middleware>>{});
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(false); });
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      for (auto& t : answerers_) t.join();
    }
    server_->shutdown();
    thread_.join();
    held_.clear();  // a Responder posts to its connection's I/O thread: drop them before the server
    server_.reset();
  }
  std::unique_ptr<HttpClient> client() { return std::make_unique<HttpClient>("127.0.0.1", port_); }

  std::mutex mu_;
  std::vector<std::thread> answerers_;
  std::vector<Responder> held_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerHandlers, SynchronousAndLaterAnswersInterleaveOnOneConnection) {
  auto c = client();
  for (int i = 0; i < 5; ++i) {
    auto a = c->get("/later");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "later");
    auto b = c->get("/sync");
    EXPECT_EQ(b.status, 200);
    EXPECT_EQ(b.body, "sync");
  }
}

TEST_F(ServerHandlers, ManyConnectionsGetTheirOwnAnswers) {
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      auto c = client();
      for (int k = 0; k < 10; ++k) ok += (c->get(k % 2 ? "/later" : "/sync").status == 200);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 80);
}

TEST_F(ServerHandlers, HandlerThatNeverAnswersTimesOutAndTheConnectionGoesOn) {
  auto c = client();
  auto t0 = steady_clock::now();
  auto r = c->get("/never");
  auto took = steady_clock::now() - t0;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find("TIMEOUT"), std::string::npos) << r.body;
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(3000));
  // A late answer to the timed-out call is dropped; the connection serves the next request.
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(held_.size(), 1u);
    held_.front().send(Response(200, "too late"));
  }
  auto next = c->get("/sync");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "sync");
}

TEST_F(ServerHandlers, SilentConnectionIsClosedAfterTheReadTimeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = steady_clock::now();
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0) << "the server should close a connection that never sends";
  auto took = steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(3000));
  ::close(fd);
}

}  // namespace
}  // namespace tacos::net

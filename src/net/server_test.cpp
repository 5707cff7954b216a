// The server's handler paths in process: answers from the handler's own thread, from another
// thread later, never (the handler deadline), and the read timeout of a silent connection.

#include "net/server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
    router.add_sync(Method::post, "/echo", [](Request& req) { return Response(200, "got " + req.body, "text/plain"); });
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

TEST_F(ServerHandlers, ADeadlineFromAnUntrustedCallerIsIgnored) {
  // The public listener: a client cannot make the server give up on its request at once (the
  // internal listener trusts the header; upstream_test covers that side).
  auto c = client();
  auto r = c->get("/sync", {{"x-request-deadline-ms", "0"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "sync");
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

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Everything the peer sends until it closes (or 5 s pass).
std::string read_to_close(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

TEST_F(ServerHandlers, RequestsArrivingInPiecesArePutTogether) {
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  // A header split mid-line, a body in two parts, then a pipelined chunked request in pieces.
  const std::vector<std::string> pieces = {
      "POST /echo HTTP/1.1\r\nHo",
      "st: x\r\nContent-Le",
      "ngth: 11\r\n\r\nhello",
      " world",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nab",
      "c\r\n2\r\nde\r\n0\r\n",
      "\r\n"};
  for (const auto& p : pieces) {
    ASSERT_TRUE(send_all(fd, p));
    std::this_thread::sleep_for(milliseconds(15));
  }
  auto all = read_to_close(fd);
  ::close(fd);
  auto first = all.find("got hello world");
  auto second = all.find("got abcde");
  EXPECT_NE(first, std::string::npos) << all;
  EXPECT_NE(second, std::string::npos) << all;
  EXPECT_LT(first, second) << "answers in request order";
}

TEST_F(ServerHandlers, PipelinedRequestsAreAnsweredInOrderUntilOneAsksToClose) {
  // Five requests in one write, one of them chunked, all read from the connection's one buffer.
  // The HTTP/1.0 request without keep-alive is the connection's last: the GET after it gets nothing.
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd,
                       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthree"
                       "POST /echo HTTP/1.0\r\nContent-Length: 4\r\n\r\nfour"
                       "GET /sync HTTP/1.1\r\n\r\n"));
  auto all = read_to_close(fd);
  ::close(fd);
  std::size_t at = 0;
  for (const char* body : {"got one", "got two", "got three", "got four"}) {
    auto found = all.find(body, at);
    ASSERT_NE(found, std::string::npos) << body << " missing or out of order in:\n" << all;
    at = found;
  }
  EXPECT_EQ(all.find("sync"), std::string::npos) << all;
}

TEST_F(ServerHandlers, PeerClosingHalfwayThroughABodyGetsNoAnswerAndTheServerGoesOn) {
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly some"));
  ::shutdown(fd, SHUT_WR);
  EXPECT_EQ(read_to_close(fd), "");
  ::close(fd);
  auto c = client();
  EXPECT_EQ(c->get("/sync").status, 200);
}

TEST_F(ServerHandlers, SilentConnectionIsClosedAfterTheReadTimeout) {
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
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

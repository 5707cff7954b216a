#include "net/http_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace tacos::net {
namespace {

// A loopback listener that accepts connections (the kernel does, from its backlog) and never
// reads or answers.
class SilentPeer {
 public:
  SilentPeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPeer() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(HttpClient, APeerThatNeverAnswersFailsTheRequestAtTheDeadline) {
  SilentPeer peer;
  HttpClient client("127.0.0.1", peer.port());
  client.set_timeout(std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  try {
    client.post("/webhook", R"({"a":1})");
    FAIL() << "a request to a silent peer returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(190));
  EXPECT_LT(took, std::chrono::seconds(3)) << "one deadline, no retry on a fresh connection";
}

TEST(HttpClient, NothingListeningFailsAtOnce) {
  std::uint16_t port = 0;
  {
    SilentPeer gone;  // take a free port, then let it go
    port = gone.port();
  }
  HttpClient client("127.0.0.1", port);
  EXPECT_THROW(client.get("/"), std::runtime_error);
}

}  // namespace
}  // namespace tacos::net

#pragma once
// The Redis server ctest started for this run (fixture `redis`, scripts/test-redis.sh), a key
// prefix per test so tests share it safely, and a server of a test's own for fault tests
// (restarts, pauses) that must not disturb the others. Header-only.

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"

namespace tacos::test {

struct RedisServer {
  std::uint16_t port = 0;
  std::uint16_t tls_port = 0;  // the same server over TLS
  std::string tls_ca;          // the certificate (self-signed for localhost, 127.0.0.1) to trust
  std::string password;
  std::string state_dir;
};

inline std::string redis_state_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (!f || !std::getline(f, line)) throw std::runtime_error("cannot read " + path);
  return line;
}

inline RedisServer redis_server_at(const std::string& dir) {
  RedisServer s;
  s.state_dir = dir;
  s.port = static_cast<std::uint16_t>(std::stoi(redis_state_line(dir + "/port")));
  s.password = redis_state_line(dir + "/password");
  s.tls_port = static_cast<std::uint16_t>(std::stoi(redis_state_line(dir + "/tls_port")));
  s.tls_ca = redis_state_line(dir + "/tls_ca");
  return s;
}

/// The server of this ctest run. Throws when the test was not started by ctest's fixture.
inline RedisServer redis_server() {
  const char* dir = std::getenv("TACOS_TEST_REDIS");
  if (!dir || !*dir)
    throw std::runtime_error("TACOS_TEST_REDIS is not set: run this test through ctest (-L redis), which starts Redis");
  return redis_server_at(dir);
}

/// A key prefix no other test (or process) uses: "t<pid>_<n>:".
inline std::string unique_redis_prefix() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ":";
}

/// A Redis server of this test's own (scripts/test-redis.sh), stopped on destruction.
class OwnRedis {
 public:
  OwnRedis() {
    run("start");
    server_ = redis_server_at(dir_.path());
  }
  ~OwnRedis() {
    try {
      run("stop");
    } catch (...) {
    }
  }
  OwnRedis(const OwnRedis&) = delete;
  OwnRedis& operator=(const OwnRedis&) = delete;

  const RedisServer& server() const { return server_; }
  /// Killed and started again on the same port, empty.
  void restart() { run("restart"); }

 private:
  void run(const std::string& cmd) {
    std::string line = std::string(TACOS_SOURCE_DIR) + "/scripts/test-redis.sh " + cmd + " " + dir_.path();
    if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + line);
  }
  TempDir dir_;
  RedisServer server_;
};

}  // namespace tacos::test

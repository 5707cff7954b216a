#pragma once
// Starts the real `tacos` binary for functional tests: port 0, a private data directory, and
// the bound port read back from http.port_file. Stops it with SIGTERM (graceful) or SIGKILL.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/http_client.hpp"
#include "support/temp_dir.hpp"

namespace tacos::test {

class ServerProcess {
 public:
  /// `env` adds TACOS_* settings to the defaults below; `args` go after `serve`.
  explicit ServerProcess(std::map<std::string, std::string> env = {}, std::vector<std::string> args = {},
                         std::string data_dir = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Starts and waits until the port file appears (throws after 30 s or if the process exits).
  void start();
  /// SIGTERM and wait; returns the exit status (or -1 if it had to be killed after 30 s).
  int stop();
  void kill9();
  bool running();
  /// Waits up to `timeout_ms` for the process to exit by itself (e.g. after a signal sent through
  /// pid()); returns its exit status (128 + signal if killed), or -1 if it is still running.
  int wait_exit(int timeout_ms);

  std::uint16_t port() const { return port_; }
  /// The internal listener's port (roles apart or --force-remote), else 0.
  std::uint16_t internal_port() const { return internal_port_; }
  const std::string& data_dir() const { return data_dir_; }
  /// The libpq connection string of the server's database (without the password) when it runs
  /// on PostgreSQL (TACOS_TEST_STORE=postgres), once started; else empty (SQLite in data_dir()).
  const std::string& postgres_url() const { return postgres_url_; }
  const std::string& log_path() const { return log_path_; }
  std::unique_ptr<net::HttpClient> client() const;
  pid_t pid() const { return pid_; }

  /// Settings every test server gets unless overridden.
  static std::map<std::string, std::string> defaults();

 private:
  std::map<std::string, std::string> env_;
  std::vector<std::string> args_;
  std::unique_ptr<TempDir> own_dir_;
  std::string data_dir_;
  std::string postgres_url_;
  std::string port_file_;
  std::string internal_port_file_;
  std::uint16_t internal_port_ = 0;
  std::string log_path_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// One response read off a RawSocket. Header names are lower case.
struct RawResponse {
  int status = 0;
  std::string status_line;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string header(const std::string& lower_name) const;
};

/// A plain blocking TCP connection to 127.0.0.1, for tests that must control the bytes on the
/// wire (partial bodies, malformed requests, HEAD, one connection for many requests). Every
/// read is bounded by the timeout given at construction.
class RawSocket {
 public:
  /// Throws std::runtime_error when the connection cannot be made (e.g. refused).
  explicit RawSocket(std::uint16_t port, int timeout_ms = 5000);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  /// Sends every byte; false if the peer is gone.
  bool send_all(std::string_view data);
  /// Reads one response: the header block, then a Content-Length body unless `head_request`.
  /// nullopt when the connection closes or times out before a whole response arrived.
  std::optional<RawResponse> read_response(bool head_request = false);
  /// True when the peer closes the connection (EOF or reset) within the timeout; bytes that
  /// arrive first are appended to `leftover` if given.
  bool peer_closed(std::string* leftover = nullptr);

 private:
  int fd_ = -1;
  std::string buffer_;
  /// Reads more bytes into buffer_; 0 on EOF/reset, -1 on timeout.
  long fill();
};

/// True if a TCP connection to 127.0.0.1:port is accepted right now.
bool can_connect(std::uint16_t port);

/// Runs `tacos` with arguments and environment, returning exit code and combined output. A run
/// still going after `timeout_ms` is killed and reported with exit_code -1 (e.g. a command that
/// should have failed started serving instead).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_tacos(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                        int timeout_ms = 30000);

/// The internal API's service secret every test server gets.
inline constexpr const char* kServiceSecret = "functional-test-service-secret-0123456789";

/// Admin credentials the default test server configures.
inline constexpr const char* kAdminUser = "admin";
inline constexpr const char* kAdminPassword = "admin-password-123";

/// Secrets and tokens the tests hand to servers (every TACOS_*SECRET* and *PASSWORD* setting a
/// ServerProcess starts with, every password and token register_user and login use): no server
/// log may hold one. ~ServerProcess checks its log with expect_no_secrets_in, so every functional
/// suite checks every line its servers wrote.
void remember_secret(const std::string& value);
/// Fails the current test for each line of the file that holds a remembered secret.
void expect_no_secrets_in(const std::string& log_path);

/// Registers (or logs in) and returns the bearer token; asserts on failure.
std::string register_user(net::HttpClient& c, const std::string& username, const std::string& password = "s3cret-pass");
std::string login(net::HttpClient& c, const std::string& username, const std::string& password);
std::vector<net::Header> bearer(const std::string& token);

}  // namespace tacos::test

namespace tacos::test {

/// Base of a test suite that shares one server: SetUpTestSuite calls start_server(env) and
/// TearDownTestSuite stop_server(). Suites of one binary run one after another, so they can
/// share the pointer.
class SharedServerTest : public ::testing::Test {
 protected:
  static void start_server(std::map<std::string, std::string> env = {}) {
    server_ = new ServerProcess(std::move(env));
    server_->start();
  }
  static void stop_server() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  inline static ServerProcess* server_ = nullptr;
};

/// Sends `request(client, i)` from `n` threads at once, each on its own connection, and
/// returns the statuses (-1 where the request failed in transport).
template <typename Request>
std::vector<int> concurrent_statuses(ServerProcess& server, int n, Request request) {
  std::vector<int> statuses(static_cast<std::size_t>(n), 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto c = server.client();
        statuses[static_cast<std::size_t>(i)] = request(*c, i).status;
      } catch (const std::exception&) {
        statuses[static_cast<std::size_t>(i)] = -1;
      }
    });
  }
  for (auto& t : threads) t.join();
  return statuses;
}

inline int count_of(const std::vector<int>& statuses, int status) {
  return static_cast<int>(std::count(statuses.begin(), statuses.end(), status));
}

}  // namespace tacos::test

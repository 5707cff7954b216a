#include "support/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/postgres.hpp"
#include "support/redis.hpp"

namespace tacos::test {

namespace fs = std::filesystem;

std::map<std::string, std::string> ServerProcess::defaults() {
  return {
      {"TACOS_HTTP_HOST", "127.0.0.1"},
      {"TACOS_HTTP_PORT", "0"},
      {"TACOS_HTTP_THREADS", "2"},
      {"TACOS_AUTH_JWT_SECRET", "functional-test-secret-0123456789abcdef"},
      // Roles in separate processes (and --force-remote) talk over the internal listener.
      {"TACOS_INTERNAL_PORT", "0"},
      {"TACOS_INTERNAL_SERVICE_SECRET", kServiceSecret},
      {"TACOS_AUTH_ADMIN_USERNAME", kAdminUser},
      {"TACOS_AUTH_ADMIN_PASSWORD", kAdminPassword},
      {"TACOS_AUTH_ARGON2_OPS", "1"},
      {"TACOS_AUTH_ARGON2_MEM_KIB", "64"},
      {"TACOS_LOG_LEVEL", "info"},
      // Every test speaks from 127.0.0.1, many buyers at once: one address's limits would
      // throttle the suite. protections_ftest turns them on and checks them.
      {"TACOS_RATE_LIMIT_ENABLED", "false"},
  };
}

namespace {

// TACOS_TEST_STORE=postgres (ctest's *_postgres runs): the server stores in a database of its own
// on this run's PostgreSQL server, one per data directory, created and migrated on first start, so
// a restart with the same directory finds its data again, as on SQLite.
void use_postgres(std::map<std::string, std::string>& env, const std::string& data_dir) {
  const char* store = std::getenv("TACOS_TEST_STORE");
  if (!store || std::string_view(store) != "postgres") return;
  auto server = postgres_server();
  char name[32];
  std::snprintf(name, sizeof name, "f_%016zx", std::hash<std::string>{}(data_dir));
  bool created = true;
  try {
    postgres_admin(server, std::string("CREATE DATABASE ") + name);
  } catch (const std::runtime_error&) {
    created = false;  // this directory's database, from an earlier start
  }
  auto at = server.conninfo.find("dbname=postgres");
  env["TACOS_STORE_BACKEND"] = "postgres";
  env["TACOS_STORE_POSTGRES_URL"] = server.conninfo.substr(0, at) + "dbname=" + name;
  env["TACOS_STORE_POSTGRES_PASSWORD"] = server.password;
  if (!created) return;
  auto migrated = run_tacos({"migrate"}, env);
  if (migrated.exit_code != 0) throw std::runtime_error("tacos migrate failed:\n" + migrated.output);
}

// TACOS_TEST_KV=redis (with TACOS_TEST_STORE=postgres in ctest's *_postgres runs): shared state in
// the run's Redis, under a key prefix of this data directory's own, so a restart with the same
// directory finds it again, as it finds its database.
void use_redis(std::map<std::string, std::string>& env, const std::string& data_dir) {
  const char* kv = std::getenv("TACOS_TEST_KV");
  if (!kv || std::string_view(kv) != "redis") return;
  auto server = redis_server();
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "f_%016zx:", std::hash<std::string>{}(data_dir));
  env["TACOS_KV_BACKEND"] = "redis";
  env["TACOS_KV_REDIS_HOST"] = "127.0.0.1";
  env["TACOS_KV_REDIS_PORT"] = std::to_string(server.port);
  env["TACOS_KV_REDIS_PASSWORD"] = server.password;
  env.emplace("TACOS_KV_KEY_PREFIX", prefix);  // unless the test chose one
}

}  // namespace

ServerProcess::ServerProcess(std::map<std::string, std::string> env, std::vector<std::string> args,
                             std::string data_dir)
    : env_(defaults()), args_(std::move(args)) {
  for (auto& [k, v] : env) env_[k] = v;
  own_dir_ = std::make_unique<TempDir>();
  data_dir_ = data_dir.empty() ? own_dir_->path() + "/data" : data_dir;
  port_file_ = own_dir_->path() + "/port";
  internal_port_file_ = own_dir_->path() + "/internal-port";
  // make test runs every functional suite twice: the second time every call between roles goes
  // over HTTP (tests/CMakeLists.txt sets this for the *_remote runs).
  if (const char* remote = std::getenv("TACOS_TEST_FORCE_REMOTE"); remote && std::string_view(remote) == "1") {
    args_.push_back("--force-remote");
  }
  log_path_ = own_dir_->path() + "/server.log";
}

namespace {
std::mutex secrets_mu;
std::set<std::string>& secrets() {
  static std::set<std::string> s;
  return s;
}
}  // namespace

void remember_secret(const std::string& value) {
  if (value.size() < 8) return;  // too short to tell from ordinary text
  std::lock_guard lock(secrets_mu);
  secrets().insert(value);
}

void expect_no_secrets_in(const std::string& log_path) {
  std::ifstream f(log_path);
  std::set<std::string> known;
  {
    std::lock_guard lock(secrets_mu);
    known = secrets();
  }
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    for (const auto& s : known) {
      if (line.find(s) == std::string::npos) continue;
      std::string shown = line;
      for (auto at = shown.find(s); at != std::string::npos; at = shown.find(s, at))
        shown.replace(at, s.size(), "<SECRET>");
      ADD_FAILURE() << log_path << ":" << n << " holds a secret or token the test used: " << shown;
    }
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  expect_no_secrets_in(log_path_);
}

void ServerProcess::start() {
  std::error_code ec;
  fs::remove(port_file_, ec);
  fs::remove(internal_port_file_, ec);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).rfind("TACOS_", 0) != 0) env_strings.emplace_back(*e);
  }
  auto env = env_;
  env["TACOS_STORE_DATA_DIR"] = data_dir_;
  use_postgres(env, data_dir_);
  use_redis(env, data_dir_);
  if (auto url = env.find("TACOS_STORE_POSTGRES_URL"); url != env.end()) postgres_url_ = url->second;
  for (const auto& [k, v] : env) {
    if (k.find("SECRET") != std::string::npos || k.find("PASSWORD") != std::string::npos) remember_secret(v);
  }
  env["TACOS_HTTP_PORT_FILE"] = port_file_;
  env["TACOS_INTERNAL_PORT_FILE"] = internal_port_file_;
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<std::string> argv_strings{TACOS_BINARY, "serve"};
  argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    std::_Exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(port_file_);
    int port = 0;
    if (f >> port && port > 0) {
      port_ = static_cast<std::uint16_t>(port);
      std::ifstream internal(internal_port_file_);  // written before the public one, when there is one
      int iport = 0;
      internal_port_ = internal >> iport ? static_cast<std::uint16_t>(iport) : 0;
      return;
    }
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream log(log_path_);
      std::stringstream ss;
      ss << log.rdbuf();
      throw std::runtime_error("server exited during start-up:\n" + ss.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("server did not start within 30 s");
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  return -1;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::wait_exit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  int status;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::unique_ptr<net::HttpClient> ServerProcess::client() const {
  auto c = std::make_unique<net::HttpClient>("127.0.0.1", port_);
  c->auto_idempotency_keys(true);  // tests that check the header itself send their own
  return c;
}

std::string RawResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

int connect_loopback(std::uint16_t port, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_ms / 1000, static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool can_connect(std::uint16_t port) {
  int fd = connect_loopback(port, 1000);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

RawSocket::RawSocket(std::uint16_t port, int timeout_ms) : fd_(connect_loopback(port, timeout_ms)) {
  if (fd_ < 0) throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send_all(std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

long RawSocket::fill() {
  char chunk[16384];
  for (;;) {
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
    if (n <= 0) return 0;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return n;
  }
}

std::optional<RawResponse> RawSocket::read_response(bool head_request) {
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (fill() <= 0) return std::nullopt;
  }
  RawResponse r;
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  std::istringstream lines(head);
  std::getline(lines, r.status_line);
  if (!r.status_line.empty() && r.status_line.back() == '\r') r.status_line.pop_back();
  if (r.status_line.size() >= 12) r.status = std::atoi(r.status_line.c_str() + 9);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  bool bodyless = head_request || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  if (!bodyless) {
    std::size_t length = static_cast<std::size_t>(std::atoll(r.header("content-length").c_str()));
    while (buffer_.size() < length) {
      if (fill() <= 0) return std::nullopt;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
  }
  return r;
}

bool RawSocket::peer_closed(std::string* leftover) {
  for (;;) {
    auto n = fill();
    if (n == 0) break;
    if (n < 0) return false;  // timed out with the connection still open
  }
  if (leftover) leftover->append(buffer_);
  buffer_.clear();
  return true;
}

CommandResult run_tacos(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                        int timeout_ms) {
  TempDir dir;
  std::string out_path = dir.path() + "/out";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      if (std::string_view(*e).rfind("TACOS_", 0) != 0) env_strings.emplace_back(*e);
    }
    for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<std::string> argv_strings{TACOS_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    std::_Exit(127);
  }
  if (pid < 0) throw std::runtime_error("fork failed");
  int status = 0;
  bool timed_out = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CommandResult r;
  r.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(out_path);
  std::stringstream ss;
  ss << f.rdbuf();
  r.output = ss.str();
  if (timed_out) r.output += "\n[run_tacos: killed after " + std::to_string(timeout_ms) + " ms]\n";
  return r;
}

std::vector<net::Header> bearer(const std::string& token) { return {{"authorization", "Bearer " + token}}; }

std::string register_user(net::HttpClient& c, const std::string& username, const std::string& password) {
  nlohmann::json body{{"username", username},
                      {"password", password},
                      {"email", username + "@example.com"},
                      {"display_name", "Fan " + username}};
  remember_secret(password);
  auto r = c.post("/api/v1/auth/register", body.dump());
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  auto token = j.is_object() && j.contains("token") ? j["token"].get<std::string>() : std::string();
  remember_secret(token);
  return token;
}

std::string login(net::HttpClient& c, const std::string& username, const std::string& password) {
  nlohmann::json body{{"username", username}, {"password", password}};
  remember_secret(password);
  auto r = c.post("/api/v1/auth/login", body.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  auto token = j.is_object() && j.contains("token") ? j["token"].get<std::string>() : std::string();
  remember_secret(token);
  return token;
}

}  // namespace tacos::test

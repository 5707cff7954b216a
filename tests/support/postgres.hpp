#pragma once
// The PostgreSQL server ctest started for this run (fixture `postgres`, scripts/test-postgres.sh)
// and a fresh database on it per test, dropped on destruction. Header-only; needs libpq (tests
// of modules that link tacos_store have it). Uses blocking libpq: test set-up, not product code.

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace tacos::test {

struct PostgresServer {
  std::string conninfo;  // to the `postgres` database, without the password
  std::string password;
  int port = 0;
  std::string state_dir;  // for scripts/test-postgres.sh restart
};

inline std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (!f || !std::getline(f, line)) throw std::runtime_error("cannot read " + path);
  return line;
}

/// The server scripts/test-postgres.sh started with this state directory.
inline PostgresServer postgres_server_at(const std::string& dir) {
  PostgresServer s;
  s.state_dir = dir;
  s.conninfo = read_first_line(s.state_dir + "/conninfo");
  s.password = read_first_line(s.state_dir + "/password");
  s.port = std::stoi(read_first_line(s.state_dir + "/port"));
  return s;
}

/// The server of this ctest run. Throws when the test was not started by ctest's fixture.
inline PostgresServer postgres_server() {
  const char* dir = std::getenv("TACOS_TEST_POSTGRES");
  if (!dir || !*dir)
    throw std::runtime_error(
        "TACOS_TEST_POSTGRES is not set: run this test through ctest (-L postgres), which starts PostgreSQL");
  return postgres_server_at(dir);
}

/// Runs one statement as the superuser on the `postgres` database (or the one s.conninfo names);
/// throws on failure. Returns the first column of the first row, if any.
inline std::string postgres_admin(const PostgresServer& s, const std::string& sql) {
  std::string conninfo = s.conninfo + " password=" + s.password;
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + why);
  }
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  std::string why = PQresultErrorMessage(r);
  std::string first = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + why);
  return first;
}

/// A new, empty database on the run's server, dropped (connections and all) on destruction.
class PostgresDatabase {
 public:
  PostgresDatabase() : server_(postgres_server()) {
    static std::atomic<int> counter{0};
    name_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    postgres_admin(server_, "CREATE DATABASE " + name_);
  }
  ~PostgresDatabase() {
    try {
      postgres_admin(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {  // the server may be gone after a fault test; it is thrown away anyway
    }
  }
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  /// libpq connection string of this database, without the password.
  std::string conninfo() const {
    auto at = server_.conninfo.find("dbname=postgres");
    return server_.conninfo.substr(0, at) + "dbname=" + name_;
  }
  const std::string& password() const { return server_.password; }
  const std::string& name() const { return name_; }
  const PostgresServer& server() const { return server_; }
  /// Runs one statement on this database as the superuser.
  void exec(const std::string& sql) const {
    PostgresServer s = server_;
    s.conninfo = conninfo();
    postgres_admin(s, sql);
  }

 private:
  PostgresServer server_;
  std::string name_;
};

}  // namespace tacos::test

#include "config/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp, setenv

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tacos::config {
namespace {

using Flags = std::vector<std::pair<std::string, std::string>>;
using Env = std::vector<std::string>;

const std::string kGoodSecret(40, 's');

// Keys of modules (declared beside their settings in the real binary), registered here so these
// tests exercise a module's key, its check and a secret the way the binary does.
std::string at_least_32(std::string_view v) { return v.size() < 32 ? "must be at least 32 bytes" : std::string(); }
constexpr KeyDecl kModuleKeys[] = {
    KeyDecl{"demo.seed", Type::boolean, "false", "Create the demo event"},
    KeyDecl{"auth.jwt_secret", Type::string, "", "HS256 signing secret", 0, 0, "", true, at_least_32},
};
const bool kRegistered = (register_keys(kModuleKeys), true);

bool has_error(const LoadResult& r, const std::string& part) {
  return std::any_of(r.errors.begin(), r.errors.end(),
                     [&](const std::string& e) { return e.find(part) != std::string::npos; });
}

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e + "\n";
  return out;
}

// Each test gets its own directory so tests can run in parallel.
class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tacos-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST(ConfigLoad, DefaultsAreValid) {
  auto r = load("", {}, {});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.integer("http.port"), 8080);
  EXPECT_EQ(r.config.string("roles"), "all");
  EXPECT_TRUE(r.config.boolean("http.access_log"));
  EXPECT_FALSE(r.config.boolean("demo.seed"));
  EXPECT_EQ(r.config.string("log.level"), "info");
  EXPECT_EQ(r.config.value("http.port").source, "default");
  EXPECT_EQ(r.config.string("auth.jwt_secret"), "");
}

TEST(ConfigLoad, EveryDeclaredKeyHasItsDefault) {
  auto r = load("", {}, {});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  for (const auto& d : declarations()) {
    EXPECT_EQ(r.config.value(d.name).text, d.default_value) << d.name;
    EXPECT_EQ(r.config.value(d.name).source, "default") << d.name;
  }
}

TEST(ConfigLoad, IgnoresUnrelatedEnvironment) {
  auto r = load("", {"PATH=/usr/bin", "HOME=/root", "TACOS_CONFIG=/etc/tacos.ini", "NOT_TACOS_HTTP_PORT=1"}, {});
  EXPECT_TRUE(r.ok()) << all_errors(r);
}

TEST_F(ConfigFileTest, PrecedenceIsDefaultsFileEnvFlags) {
  auto path = write("tacos.ini", "[http]\nport = 1000\nthreads = 2\nmax_body_bytes = 4096\n");
  Env env{"TACOS_HTTP_PORT=2000", "TACOS_HTTP_THREADS=3"};
  Flags flags{{"http.port", "3000"}};
  auto r = load(path, env, flags);
  ASSERT_TRUE(r.ok()) << all_errors(r);

  EXPECT_EQ(r.config.integer("http.port"), 3000);
  EXPECT_EQ(r.config.value("http.port").source, "flag --http.port");
  EXPECT_EQ(r.config.integer("http.threads"), 3);
  EXPECT_EQ(r.config.value("http.threads").source, "env TACOS_HTTP_THREADS");
  EXPECT_EQ(r.config.integer("http.max_body_bytes"), 4096);
  EXPECT_EQ(r.config.value("http.max_body_bytes").source, "file " + path + ":4");
  EXPECT_EQ(r.config.integer("http.read_timeout_ms"), 10000);
  EXPECT_EQ(r.config.value("http.read_timeout_ms").source, "default");
}

TEST_F(ConfigFileTest, ReadsIniSectionsCommentsAndQuotes) {
  auto path = write("tacos.ini",
                    "# Traffic Tacos\n"
                    "; another comment style\n"
                    "roles = gateway,queue\n"
                    "\n"
                    "[http]\n"
                    "  port=9090  \n"
                    "   # indented comment\n"
                    "host = \"127.0.0.1\"\n"
                    "[ log ]\n"
                    "level = 'debug'\n"
                    "[demo]\n"
                    "seed = yes\n");
  auto r = load(path, {}, {});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.string("roles"), "gateway,queue");
  EXPECT_EQ(r.config.integer("http.port"), 9090);
  EXPECT_EQ(r.config.string("http.host"), "127.0.0.1");
  EXPECT_EQ(r.config.string("log.level"), "debug");
  EXPECT_TRUE(r.config.boolean("demo.seed"));
}

TEST_F(ConfigFileTest, AcceptsDottedKeysWithoutSections) {
  auto path = write("tacos.ini", "http.port = 81\ninternal.max_attempts = 5\n");
  auto r = load(path, {}, {});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.integer("http.port"), 81);
  EXPECT_EQ(r.config.integer("internal.max_attempts"), 5);
}

TEST_F(ConfigFileTest, ReportsUnknownKeyInFileWithLine) {
  auto path = write("tacos.ini", "[http]\nport = 80\nprot = 81\n");
  auto r = load(path, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "file " + path + ":3: unknown key 'http.prot'")) << all_errors(r);
}

TEST_F(ConfigFileTest, ReportsMalformedLines) {
  auto path = write("tacos.ini", "[http\nport 80\n");
  auto r = load(path, {}, {});
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, ":1: malformed section header")) << all_errors(r);
  EXPECT_TRUE(has_error(r, ":2: expected 'key = value'")) << all_errors(r);
}

TEST_F(ConfigFileTest, ReportsUnreadableFile) {
  auto path = (dir_ / "missing.ini").string();
  auto r = load(path, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, path)) << all_errors(r);
  EXPECT_TRUE(has_error(r, "cannot be read")) << all_errors(r);
}

TEST(ConfigLoad, ReportsUnknownEnvVariable) {
  auto r = load("", {"TACOS_HTTP_PROT=80"}, {});
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "env TACOS_HTTP_PROT")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "unknown")) << all_errors(r);
}

TEST(ConfigLoad, ReportsUnknownFlag) {
  auto r = load("", {}, {{"http.prot", "80"}});
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "flag --http.prot: unknown key 'http.prot'")) << all_errors(r);
}

TEST(ConfigLoad, RejectsInvalidInteger) {
  for (const char* bad : {"80a", "", "eighty", "8.5", "0x50"}) {
    auto r = load("", {}, {{"http.port", bad}});
    ASSERT_EQ(r.errors.size(), 1u) << bad << "\n" << all_errors(r);
    EXPECT_TRUE(has_error(r, "flag --http.port: http.port: '" + std::string(bad) + "' is not an integer"))
        << all_errors(r);
  }
}

TEST(ConfigLoad, RejectsIntegerOutOfBounds) {
  auto r = load("", {"TACOS_HTTP_PORT=70000"}, {{"http.threads", "-1"}});
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "env TACOS_HTTP_PORT: http.port: 70000 is outside 0..65535")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "http.threads: -1 is outside 0..256")) << all_errors(r);
}

TEST(ConfigLoad, AcceptsIntegerBounds) {
  auto r = load("", {}, {{"http.port", "0"}, {"http.threads", "256"}});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.integer("http.port"), 0);
  EXPECT_EQ(r.config.integer("http.threads"), 256);
}

TEST(ConfigLoad, ParsesBooleanSpellings) {
  for (const char* yes : {"true", "1", "yes", "on"}) {
    auto r = load("", {}, {{"demo.seed", yes}});
    ASSERT_TRUE(r.ok()) << yes << "\n" << all_errors(r);
    EXPECT_TRUE(r.config.boolean("demo.seed")) << yes;
  }
  for (const char* no : {"false", "0", "no", "off"}) {
    auto r = load("", {}, {{"demo.seed", no}});
    ASSERT_TRUE(r.ok()) << no << "\n" << all_errors(r);
    EXPECT_FALSE(r.config.boolean("demo.seed")) << no;
  }
}

TEST(ConfigLoad, RejectsBadBoolean) {
  auto r = load("", {"TACOS_DEMO_SEED=maybe"}, {});
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "demo.seed: 'maybe' is not a boolean")) << all_errors(r);
}

TEST(ConfigLoad, RejectsBadChoice) {
  auto r = load("", {}, {{"log.level", "verbose"}, {"store.sqlite_synchronous", "off"}});
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "log.level: 'verbose' is not one of debug|info|warn|error|off")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "store.sqlite_synchronous: 'off' is not one of full|normal")) << all_errors(r);
}

TEST(ConfigLoad, AcceptsEveryChoice) {
  for (const char* level : {"debug", "info", "warn", "error", "off"}) {
    auto r = load("", {}, {{"log.level", level}});
    EXPECT_TRUE(r.ok()) << level << "\n" << all_errors(r);
  }
  // A prefix of a choice is not a choice.
  EXPECT_FALSE(load("", {}, {{"log.level", "inf"}}).ok());
  EXPECT_FALSE(load("", {}, {{"log.level", "debug|info"}}).ok());
}

TEST_F(ConfigFileTest, ReportsAllErrorsTogether) {
  auto path = write("tacos.ini", "[http]\nport = abc\nbogus = 1\n");
  Env env{"TACOS_DEMO_SEED=perhaps", "TACOS_NO_SUCH_KEY=1"};
  Flags flags{{"log.level", "loud"}, {"nope", "1"}, {"auth.jwt_secret", "short"}};
  auto r = load(path, env, flags);
  EXPECT_EQ(r.errors.size(), 7u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "http.port: 'abc' is not an integer")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "unknown key 'http.bogus'")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "demo.seed: 'perhaps' is not a boolean")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "env TACOS_NO_SUCH_KEY")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "log.level: 'loud'")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "flag --nope: unknown key 'nope'")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "auth.jwt_secret: must be at least 32 bytes")) << all_errors(r);
}

TEST(ConfigLoad, RejectsShortJwtSecret) {
  auto r = load("", {}, {{"auth.jwt_secret", std::string(31, 'x')}});
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "flag --auth.jwt_secret: auth.jwt_secret: must be at least 32 bytes")) << all_errors(r);
  // The message must not echo the secret.
  EXPECT_FALSE(has_error(r, std::string(31, 'x'))) << all_errors(r);
}

TEST(ConfigLoad, AcceptsJwtSecretOf32Bytes) {
  auto r = load("", {"TACOS_AUTH_JWT_SECRET=" + std::string(32, 'x')}, {});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.string("auth.jwt_secret"), std::string(32, 'x'));
}

TEST(ConfigEnvName, MapsDottedKeysToUpperSnake) {
  EXPECT_EQ(env_name("http.port"), "TACOS_HTTP_PORT");
  EXPECT_EQ(env_name("http.max_body_bytes"), "TACOS_HTTP_MAX_BODY_BYTES");
  EXPECT_EQ(env_name("auth.jwt_secret"), "TACOS_AUTH_JWT_SECRET");
  EXPECT_EQ(env_name("roles"), "TACOS_ROLES");
  EXPECT_EQ(env_name("some-key.x"), "TACOS_SOME_KEY_X");
}

TEST(ConfigEnvName, EveryKeyHasItsOwnVariable) {
  std::set<std::string> names;
  for (const auto& d : declarations()) {
    auto name = env_name(d.name);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_NE(name, "TACOS_CONFIG") << d.name;  // reserved for the file path
  }
}

TEST(ConfigEnvName, EveryKeyCanBeSetFromTheEnvironment) {
  auto r = load("", {env_name("http.shutdown_timeout_ms") + "=1", env_name("store.data_dir") + "=/srv/data"}, {});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.integer("http.shutdown_timeout_ms"), 1);
  EXPECT_EQ(r.config.string("store.data_dir"), "/srv/data");
  EXPECT_EQ(r.config.value("store.data_dir").source, "env TACOS_STORE_DATA_DIR");
}

TEST(ConfigDeclarations, AreWellFormed) {
  std::set<std::string_view> names;
  for (const auto& d : declarations()) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate " << d.name;
    EXPECT_FALSE(d.help.empty()) << d.name;
    EXPECT_EQ(find_declaration(d.name), &d);
    if (d.type == Type::integer) {
      EXPECT_LE(d.min, d.max) << d.name;
    }
    if (d.type == Type::choice) {
      EXPECT_FALSE(d.choices.empty()) << d.name;
    }
  }
  EXPECT_EQ(find_declaration("no.such.key"), nullptr);
}

TEST(ConfigPrint, RedactsSecretsButShowsOtherValues) {
  std::string password = "very-secret-service-secret-0123456789";
  auto r = load("", {"TACOS_AUTH_JWT_SECRET=" + kGoodSecret},
                {{"internal.service_secret", password}, {"store.data_dir", "/data"}, {"http.port", "9000"}});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  auto text = r.config.print();
  EXPECT_EQ(text.find(kGoodSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(password), std::string::npos) << text;
  EXPECT_NE(text.find("auth.jwt_secret = <redacted>    # env TACOS_AUTH_JWT_SECRET\n"), std::string::npos) << text;
  EXPECT_NE(text.find("internal.service_secret = <redacted>    # flag --internal.service_secret\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("store.data_dir = /data    # flag --store.data_dir\n"), std::string::npos) << text;
  EXPECT_NE(text.find("http.port = 9000    # flag --http.port\n"), std::string::npos) << text;
  EXPECT_NE(text.find("http.host = 0.0.0.0    # default\n"), std::string::npos) << text;
}

TEST(ConfigPrint, ShowsUnsetSecretsAsEmpty) {
  auto r = load("", {}, {});
  auto text = r.config.print();
  EXPECT_NE(text.find("auth.jwt_secret =     # default\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("<redacted>"), std::string::npos) << text;
}

TEST(ConfigPrint, HasOneLinePerKeyInDeclarationOrder) {
  auto text = load("", {}, {}).config.print();
  std::istringstream in(text);
  std::string line;
  std::size_t i = 0;
  auto decls = declarations();
  while (std::getline(in, line)) {
    ASSERT_LT(i, decls.size());
    EXPECT_EQ(line.rfind(std::string(decls[i].name) + " = ", 0), 0u) << line;
    ++i;
  }
  EXPECT_EQ(i, decls.size());
}

TEST(Config, TypedAccessorsReadValues) {
  Config c;
  c.set("a", "42");
  c.set("b", "on", "test");
  EXPECT_EQ(c.integer("a"), 42);
  EXPECT_TRUE(c.boolean("b"));
  EXPECT_EQ(c.value("a").source, "code");
  EXPECT_EQ(c.value("b").source, "test");
  EXPECT_THROW(c.value("missing"), std::logic_error);
  EXPECT_THROW(c.integer("b"), std::logic_error);
  EXPECT_THROW(c.boolean("a"), std::logic_error);
}

TEST(ConfigProcessEnvironment, IncludesVariablesOfThisProcess) {
  ASSERT_EQ(setenv("TACOS_CONFIG_TEST_PROBE", "x=1", 1), 0);
  auto env = process_environment();
  EXPECT_NE(std::find(env.begin(), env.end(), "TACOS_CONFIG_TEST_PROBE=x=1"), env.end());
  unsetenv("TACOS_CONFIG_TEST_PROBE");
}

TEST(ConfigReference, HasOneRowPerKey) {
  auto md = reference_markdown();
  EXPECT_EQ(md.rfind("| key | environment |", 0), 0u);
  for (const auto& d : declarations()) {
    EXPECT_NE(md.find("| `" + std::string(d.name) + "` | `" + env_name(d.name) + "` |"), std::string::npos) << d.name;
  }
  auto rows = static_cast<std::size_t>(std::count(md.begin(), md.end(), '\n'));
  EXPECT_EQ(rows, declarations().size() + 2);
}

}  // namespace
}  // namespace tacos::config

// The `tacos` command line: help, version, configuration errors, migrate, and --roles.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "support/api_checks.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Cli, VersionPrintsVersion) {
  auto r = run_tacos({"version"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("tacos ", 0), 0u) << r.output;
  EXPECT_TRUE(contains(r.output, "0.1.0")) << r.output;  // project(tacos VERSION ...) in CMakeLists.txt
  EXPECT_TRUE(contains(r.output, "commit")) << r.output;
}

TEST(Cli, HelpExitsZeroWithUsage) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"-h"},
                                               {"help"},
                                               {"serve", "--help"},
                                               {"migrate", "--help"},
                                               {"version", "--help"}}) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined);
    auto r = run_tacos(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "Usage")) << r.output;
  }
  EXPECT_TRUE(contains(run_tacos({"--help"}).output, "tacos serve"));
  EXPECT_TRUE(contains(run_tacos({"serve", "--help"}).output, "--roles"));
  EXPECT_TRUE(contains(run_tacos({"migrate", "--help"}).output, "tacos migrate"));
  EXPECT_TRUE(contains(run_tacos({"version", "--help"}).output, "tacos version"));
}

TEST(Cli, ServeHelpDoesNotStartAServer) {
  // Would fail to bind or hang if it tried to serve; --help must win over everything else.
  auto r = run_tacos({"serve", "--help"}, {{"TACOS_HTTP_PORT", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Cli, NoArgumentsIsUsageError) {
  auto r = run_tacos({});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "Usage")) << r.output;
}

TEST(Cli, UnknownCommandExitsTwo) {
  auto r = run_tacos({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "frobnicate")) << r.output;
}

TEST(Cli, ConfigReferenceListsEveryKey) {
  auto r = run_tacos({"config-reference"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* key : {"http.port", "TACOS_HTTP_PORT", "auth.jwt_secret", "store.data_dir", "demo.seed"}) {
    EXPECT_TRUE(contains(r.output, key)) << key;
  }
}

TEST(Cli, PrintConfigRedactsSecretsAndShowsSources) {
  const std::string secret = "print-config-secret-0123456789abcdef";
  auto r =
      run_tacos({"serve", "--print-config", "--http.threads=3"}, {{"TACOS_AUTH_JWT_SECRET", secret},
                                                                  {"TACOS_HTTP_PORT", "9191"},
                                                                  {"TACOS_AUTH_ADMIN_USERNAME", "root"},
                                                                  {"TACOS_AUTH_ADMIN_PASSWORD", "root-password-xyz"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "auth.jwt_secret = <redacted>")) << r.output;
  EXPECT_TRUE(contains(r.output, "env TACOS_AUTH_JWT_SECRET")) << r.output;
  EXPECT_FALSE(contains(r.output, secret)) << "the secret leaked: " << r.output;
  EXPECT_FALSE(contains(r.output, "root-password-xyz")) << "the admin password leaked: " << r.output;
  EXPECT_TRUE(contains(r.output, "auth.admin_password = <redacted>")) << r.output;
  EXPECT_TRUE(contains(r.output, "http.port = 9191")) << r.output;
  EXPECT_TRUE(contains(r.output, "env TACOS_HTTP_PORT")) << r.output;
  EXPECT_TRUE(contains(r.output, "http.threads = 3")) << r.output;
  EXPECT_TRUE(contains(r.output, "flag --http.threads")) << r.output;
  EXPECT_TRUE(contains(r.output, "http.host = 0.0.0.0")) << r.output;
  EXPECT_TRUE(contains(r.output, "default")) << r.output;
}

TEST(Cli, PrintConfigShowsEmptySecretAsEmpty) {
  auto r = run_tacos({"serve", "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "auth.jwt_secret = ")) << r.output;
  EXPECT_FALSE(contains(r.output, "auth.jwt_secret = <redacted>")) << r.output;
}

TEST(Cli, CheckConfigAcceptsAValidConfigurationAndRefusesABadOneWithoutStarting) {
  auto ok = run_tacos({"serve", "--check-config", "--roles", "queue", "--store.backend=postgres",
                       "--store.postgres_url=host=db.invalid dbname=tacos", "--kv.backend=redis"},
                      {{"TACOS_INTERNAL_SERVICE_SECRET", std::string(40, 's')}});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "the configuration is valid")) << ok.output;
  auto bad = run_tacos({"serve", "--check-config"}, {{"TACOS_KV_BACKEND", "memcached"}, {"TACOS_NO_SUCH_KEY", "1"}});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  for (const char* problem : {"memcached", "TACOS_NO_SUCH_KEY"}) {
    EXPECT_TRUE(contains(bad.output, problem)) << problem << ": " << bad.output;
  }
  auto no_role = run_tacos({"migrate", "--check-config", "--roles", "queue,nope"});
  EXPECT_EQ(no_role.exit_code, 2) << no_role.output;
  EXPECT_TRUE(contains(no_role.output, "nope")) << no_role.output;
  EXPECT_FALSE(contains(no_role.output, "applied")) << "it migrated: " << no_role.output;
}

TEST(Cli, FlagsOverrideEnvironment) {
  auto r = run_tacos({"serve", "--print-config", "--http.port", "7070"}, {{"TACOS_HTTP_PORT", "9191"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "http.port = 7070")) << r.output;
  EXPECT_FALSE(contains(r.output, "http.port = 9191")) << r.output;
}

TEST(Cli, InvalidConfigurationReportsEveryProblemTogether) {
  auto r = run_tacos({"serve", "--http.threads=abc"}, {{"TACOS_HTTP_PORT", "99999"}, {"TACOS_NOPE", "1"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "TACOS_HTTP_PORT")) << r.output;
  EXPECT_TRUE(contains(r.output, "99999")) << r.output;
  EXPECT_TRUE(contains(r.output, "TACOS_NOPE")) << r.output;
  EXPECT_TRUE(contains(r.output, "http.threads")) << r.output;
  EXPECT_TRUE(contains(r.output, "abc")) << r.output;
  EXPECT_TRUE(contains(r.output, "3 problems")) << r.output;
}

TEST(Cli, InvalidConfigurationFailsPrintConfigToo) {
  auto r = run_tacos({"serve", "--print-config"}, {{"TACOS_LOG_LEVEL", "loud"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "log.level")) << r.output;
}

TEST(Cli, ShortJwtSecretIsRejected) {
  auto r = run_tacos({"serve", "--print-config"}, {{"TACOS_AUTH_JWT_SECRET", "too-short"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "auth.jwt_secret")) << r.output;
  EXPECT_FALSE(contains(r.output, "too-short")) << "secrets are not echoed even when wrong: " << r.output;
}

TEST(Cli, UnknownRoleExitsTwo) {
  auto r = run_tacos({"serve", "--roles", "bogus"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "bogus")) << r.output;
  auto mixed = run_tacos({"serve", "--roles=gateway,bogus"});
  EXPECT_EQ(mixed.exit_code, 2) << mixed.output;
  auto env = run_tacos({"serve"}, {{"TACOS_ROLES", "bogus"}});
  EXPECT_EQ(env.exit_code, 2) << env.output;
}

TEST(Cli, UnexpectedArgumentExitsTwo) {
  auto r = run_tacos({"serve", "stray"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "stray")) << r.output;
}

TEST(Cli, MigrateAppliesOnceThenIsUpToDate) {
  TempDir dir;
  Env env{{"TACOS_STORE_DATA_DIR", dir.path() + "/data"}, {"TACOS_LOG_LEVEL", "warn"}};
  auto first = run_tacos({"migrate"}, env);
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "applied 1_init")) << first.output;
  EXPECT_FALSE(contains(first.output, "up to date")) << first.output;
  auto second = run_tacos({"migrate"}, env);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(contains(second.output, "schema is up to date")) << second.output;
  EXPECT_FALSE(contains(second.output, "applied")) << second.output;
}

TEST(Cli, MigrateFlagSetsDataDir) {
  TempDir dir;
  auto r = run_tacos({"migrate", "--store.data_dir=" + dir.path() + "/flagged"}, {{"TACOS_LOG_LEVEL", "warn"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "applied 1_init")) << r.output;
  auto again = run_tacos({"migrate", "--store.data_dir", dir.path() + "/flagged"}, {{"TACOS_LOG_LEVEL", "warn"}});
  EXPECT_TRUE(contains(again.output, "schema is up to date")) << again.output;
}

TEST(Cli, ServeAfterMigrateUsesTheSchema) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(run_tacos({"migrate"}, {{"TACOS_STORE_DATA_DIR", data}}).exit_code, 0);
  ServerProcess server(Env{}, {}, data);
  server.start();
  auto c = server.client();
  EXPECT_FALSE(register_user(*c, "migrated_mo").empty());
  EXPECT_EQ(server.stop(), 0);
  auto r = run_tacos({"migrate"}, {{"TACOS_STORE_DATA_DIR", data}});
  EXPECT_TRUE(contains(r.output, "schema is up to date")) << r.output;
}

TEST(Cli, ARoleWithoutTheGatewayServesItsRoutesOnlyOnTheInternalListener) {
  ServerProcess server(Env{}, {"--roles", "inventory"});
  server.start();
  ASSERT_GT(server.internal_port(), 0);
  auto c = server.client();
  // No gateway here: nobody would authenticate or rate-limit a public request, so none is served.
  expect_error(c->get("/api/v1/events"), 404, "NOT_FOUND");
  expect_error(c->post("/api/v1/auth/login", R"({"username":"admin","password":"admin-password-123"})"), 404,
               "NOT_FOUND");
  EXPECT_EQ(c->get("/healthz").status, 200);
  EXPECT_EQ(c->get("/metrics").status, 200);
  // A gateway elsewhere reaches the catalogue at the internal listener's edge, with the secret.
  net::HttpClient internal("127.0.0.1", server.internal_port());
  EXPECT_EQ(internal.get("/internal/v1/edge/api/v1/events", {{"x-tacos-service-token", kServiceSecret}}).status, 200);
  expect_error(internal.get("/internal/v1/edge/api/v1/events"), 401, "UNAUTHORIZED");
  expect_error(internal.get("/internal/v1/edge/api/v1/events", {{"x-tacos-service-token", "guess"}}), 401,
               "UNAUTHORIZED");
  EXPECT_EQ(server.stop(), 0);
}

TEST(Cli, AGatewayWithoutTheOtherRolesNeedsTheirUrls) {
  TempDir dir;
  auto r = run_tacos({"serve", "--roles=gateway"}, {{"TACOS_HTTP_PORT", "0"},
                                                    {"TACOS_INTERNAL_SERVICE_SECRET", kServiceSecret},
                                                    {"TACOS_STORE_DATA_DIR", dir.path() + "/data"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "roles.inventory.url: required")) << r.output;
}

TEST(Cli, AGatewayAnswersItsOwnRoutesAndSaysWhenARoleIsDown) {
  ServerProcess server(Env{{"TACOS_ROLES_INVENTORY_URL", "http://127.0.0.1:9"},
                           {"TACOS_ROLES_QUEUE_URL", "http://127.0.0.1:9"},
                           {"TACOS_ROLES_RESERVATION_URL", "http://127.0.0.1:9"},
                           {"TACOS_ROLES_PAYMENT_URL", "http://127.0.0.1:9"},
                           {"TACOS_ROLES_WORKER_URL", "http://127.0.0.1:9"}},
                       {"--roles=gateway"});
  server.start();
  auto c = server.client();
  EXPECT_FALSE(login(*c, kAdminUser, kAdminPassword).empty());
  auto down = c->get("/api/v1/events");
  expect_error(down, 503, "UNAVAILABLE");
  EXPECT_FALSE(down.header("retry-after").empty());
  EXPECT_EQ(server.stop(), 0);
}

TEST(Cli, ServeFailsCleanlyWhenPortIsTaken) {
  ServerProcess holder;
  holder.start();
  auto r = run_tacos({"serve"}, {{"TACOS_HTTP_HOST", "127.0.0.1"},
                                 {"TACOS_HTTP_PORT", std::to_string(holder.port())},
                                 {"TACOS_STORE_DATA_DIR", holder.data_dir() + "-second"},
                                 {"TACOS_LOG_LEVEL", "error"}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, std::to_string(holder.port()))) << r.output;
}

}  // namespace
}  // namespace tacos::test

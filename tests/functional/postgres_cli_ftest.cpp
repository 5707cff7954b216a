// `tacos migrate` and `tacos serve` with store.backend=postgres, against the PostgreSQL server of
// this ctest run: dry run, apply, up to date, serve refusing an old or a newer schema, and the
// password kept out of every output.

#include <gtest/gtest.h>

#include <fstream>

#include "support/postgres.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace tacos::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class PostgresCli : public ::testing::Test {
 protected:
  PostgresDatabase db;
  std::map<std::string, std::string> env() const {
    return {{"TACOS_STORE_BACKEND", "postgres"},
            {"TACOS_STORE_POSTGRES_URL", db.conninfo()},
            {"TACOS_STORE_POSTGRES_PASSWORD", db.password()}};
  }
};

TEST_F(PostgresCli, MigrateDryRunThenApplyThenUpToDate) {
  auto dry = run_tacos({"migrate", "--dry-run"}, env());
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(contains(dry.output, "would apply 1_init")) << dry.output;
  auto again = run_tacos({"migrate", "--dry-run"}, env());
  EXPECT_TRUE(contains(again.output, "would apply 1_init")) << "a dry run changed nothing";

  auto applied = run_tacos({"migrate"}, env());
  EXPECT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(contains(applied.output, "applied 1_init")) << applied.output;
  auto done = run_tacos({"migrate"}, env());
  EXPECT_EQ(done.exit_code, 0) << done.output;
  EXPECT_TRUE(contains(done.output, "schema is up to date")) << done.output;
  for (const auto* r : {&dry, &applied, &done}) EXPECT_FALSE(contains(r->output, db.password()));
}

TEST_F(PostgresCli, ServeRefusesASchemaOlderThanTheBinaryNamingMigrate) {
  auto r = run_tacos({"serve", "--http.port=0"}, env());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "run `tacos migrate`")) << r.output;
  EXPECT_FALSE(contains(r.output, db.password()));
}

TEST_F(PostgresCli, ServeRefusesASchemaNewerThanTheBinary) {
  ASSERT_EQ(run_tacos({"migrate"}, env()).exit_code, 0);
  db.exec("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
  auto r = run_tacos({"serve", "--http.port=0"}, env());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "newer than this binary knows")) << r.output;
  auto m = run_tacos({"migrate"}, env());
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_TRUE(contains(m.output, "newer than this binary knows")) << m.output;
}

TEST_F(PostgresCli, PasswordFromAFileAndBadSettingsAreConfigurationErrors) {
  TempDir dir;
  std::string file = dir.path() + "/password";
  std::ofstream(file) << db.password() << "\n";
  auto e = env();
  e.erase("TACOS_STORE_POSTGRES_PASSWORD");
  e["TACOS_STORE_POSTGRES_PASSWORD_FILE"] = file;
  auto ok = run_tacos({"migrate", "--dry-run"}, e);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  e = env();
  e["TACOS_STORE_POSTGRES_URL"] = db.conninfo() + " password=" + db.password();
  auto in_url = run_tacos({"migrate"}, e);
  EXPECT_EQ(in_url.exit_code, 2) << in_url.output;
  EXPECT_TRUE(contains(in_url.output, "holds a password")) << in_url.output;

  e = env();
  e.erase("TACOS_STORE_POSTGRES_URL");
  auto missing = run_tacos({"migrate"}, e);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "store.postgres_url")) << missing.output;

  e = env();
  e["TACOS_STORE_POSTGRES_PASSWORD"] = "wrong-password";
  auto wrong = run_tacos({"migrate"}, e);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_TRUE(contains(wrong.output, "password authentication failed")) << wrong.output;
  EXPECT_FALSE(contains(wrong.output, "wrong-password"));

  auto printed = run_tacos({"serve", "--print-config"}, env());
  EXPECT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_FALSE(contains(printed.output, db.password())) << "the password is redacted";
}

}  // namespace
}  // namespace tacos::test

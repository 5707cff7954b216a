// What only app/ can check: every module's keys together (the configuration reference in docs),
// the modules' own checks, and the module graph docs/architecture.md shows.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "app/roles.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"

namespace tacos::app {
namespace {

std::string between_markers(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string doc = buf.str();
  const std::string begin = "<!-- " + name + ":begin -->";
  const std::string end = "<!-- " + name + ":end -->";
  auto b = doc.find(begin);
  auto e = doc.find(end);
  EXPECT_NE(b, std::string::npos) << path << " lacks " << begin;
  EXPECT_NE(e, std::string::npos) << path << " lacks " << end;
  if (b == std::string::npos || e == std::string::npos || e < b) return {};
  std::string between = doc.substr(b + begin.size(), e - b - begin.size());
  auto first = between.find_first_not_of('\n');
  between = first == std::string::npos ? std::string() : between.substr(first);
  while (!between.empty() && between.back() == '\n') between.pop_back();
  return between;
}

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

TEST(ConfigReference, DocsMatchEveryModulesDeclarations) {
  register_keys();
  EXPECT_EQ(between_markers(TACOS_SOURCE_DIR "/docs/configuration.md", "config-reference"),
            trimmed(config::reference_markdown()))
      << "regenerate the table: scripts/gen-config-doc.sh";
}

TEST(MetricsReference, DocsListEveryDeclaredFamily) {
  EXPECT_EQ(between_markers(TACOS_SOURCE_DIR "/docs/metrics.md", "metrics-reference"),
            trimmed(metrics::reference_markdown(metrics::catalogue())))
      << "regenerate the table: scripts/gen-config-doc.sh";
}

TEST(ModuleGraph, DocsShowTheGraphTheModulesDeclare) {
  EXPECT_EQ(between_markers(TACOS_SOURCE_DIR "/docs/architecture.md", "module-graph"), trimmed(module_graph_markdown()))
      << "regenerate it: tacos module-graph";
}

config::LoadResult load(const std::vector<std::pair<std::string, std::string>>& flags) {
  register_keys();
  return config::load("", {}, flags);
}

std::vector<std::string> checks(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& r : role_table()) {
    for (auto& p : r.make()->check(c)) out.push_back(p);
  }
  return out;
}

TEST(ModuleChecks, AnAdminNeedsAPasswordOfEightCharacters) {
  auto r = load({{"auth.admin_username", "root"}, {"auth.admin_password", "1234567"}});
  ASSERT_TRUE(r.ok());
  auto p = checks(r.config);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("flag --auth.admin_password: auth.admin_password: must be at least 8"), std::string::npos)
      << p[0];
  EXPECT_TRUE(checks(load({{"auth.admin_username", "root"}, {"auth.admin_password", "12345678"}}).config).empty());
}

TEST(ModuleChecks, AnIdentityProviderNeedsItsIssuerAndAudience) {
  auto r = load({{"auth.jwks_url", "https://idp.example/jwks"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(checks(r.config).size(), 2u);
}

TEST(KeyChecks, BadValuesAreReportedWhereTheKeyIsDeclared) {
  auto r = load({{"rate_limit.per_ip", "lots"},
                 {"queue.token_keys", "k1:short"},
                 {"payment.webhook_url", "ftp://x"},
                 {"roles.queue.url", "queue:9091"},
                 {"auth.jwt_secret", "short"}});
  EXPECT_EQ(r.errors.size(), 5u);
  for (const auto& e : r.errors) EXPECT_EQ(e.find("short-secret-value"), std::string::npos);
}

TEST(Roles, ResolveInStartOrderAndRefuseUnknownNames) {
  auto all = resolve_roles("all");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), role_table().size());
  auto some = resolve_roles("gateway, inventory");
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0]->name, "inventory");
  EXPECT_FALSE(resolve_roles("gateway,kitchen").ok());
}

}  // namespace
}  // namespace tacos::app

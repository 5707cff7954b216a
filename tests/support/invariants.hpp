#pragma once
// The DESIGN.md §3 invariants, asked of a running server: free + held + sold = capacity, no seat
// sold twice, no negative stock, one approved payment and one order per sale, no overdue hold.
// Functional tests call expect_invariants() after each test (TearDown) and after fault runs.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "net/http_client.hpp"
#include "support/api_checks.hpp"
#include "support/server_process.hpp"

namespace tacos::test {

/// GET /api/v1/admin/invariants with an admin token; fails the current test unless the answer
/// is {"ok":true,"violations":[]}, printing the violations. `when` says which check failed.
inline void expect_invariants(net::HttpClient& c, const std::string& admin_token, const std::string& when = {}) {
  auto r = c.get("/api/v1/admin/invariants", bearer(admin_token));
  ASSERT_EQ(r.status, 200) << when << ": " << r.body;
  auto j = json_body(r);
  ASSERT_TRUE(j.is_object() && j.contains("ok") && j.contains("violations")) << when << ": " << r.body;
  EXPECT_EQ(j["ok"], true) << "invariants violated " << when << ": " << j["violations"].dump(2);
  EXPECT_TRUE(j["violations"].is_array() && j["violations"].empty()) << when << ": " << r.body;
}

/// The same for a test server: checks that it is still running, signs in as its admin and asks.
inline void expect_invariants(ServerProcess& server) {
  ASSERT_TRUE(server.running()) << "the server is not running (log: " << server.log_path() << ")";
  auto c = server.client();
  auto admin = login(*c, kAdminUser, kAdminPassword);
  ASSERT_FALSE(admin.empty()) << "cannot sign in as the admin";
  expect_invariants(*c, admin);
}

}  // namespace tacos::test

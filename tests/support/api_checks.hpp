#pragma once
// Small header-only checks shared by the functional tests: parse a JSON body, assert on the
// error envelope, make names unique within one test binary.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "net/http_client.hpp"

namespace tacos::test {

/// Extra TACOS_* settings for a ServerProcess (spelled out so brace lists are not ambiguous).
using Env = std::map<std::string, std::string>;

/// The body as JSON; a discarded value (is_discarded()) when it does not parse.
inline nlohmann::json json_body(const net::ClientResponse& r) {
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

/// `prefix` plus a number no other call in this process returns; keeps names valid usernames
/// and event ids (lower case letters, digits, '_').
inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> next{0};
  return prefix + "_" + std::to_string(++next);
}

/// Checks {"error":{"code","message","trace_id"[,"field"]}} with the given status and code, that
/// trace_id equals the X-Request-ID header, and (when `field` is given) that the error names the
/// field both in error.field and in the message. Returns the error object for further checks.
inline nlohmann::json expect_error(const net::ClientResponse& r, int status, const std::string& code,
                                   const std::string& field = {}) {
  EXPECT_EQ(r.status, status) << r.body;
  auto j = json_body(r);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    ADD_FAILURE() << "not an error envelope: " << r.body;
    return nlohmann::json::object();
  }
  EXPECT_EQ(j.size(), 1u) << r.body;
  auto e = j["error"];
  EXPECT_TRUE(e.contains("code") && e["code"].is_string()) << r.body;
  EXPECT_TRUE(e.contains("message") && e["message"].is_string() && !e["message"].get<std::string>().empty()) << r.body;
  EXPECT_TRUE(e.contains("trace_id") && e["trace_id"].is_string() && !e["trace_id"].get<std::string>().empty())
      << r.body;
  for (const auto& [k, v] : e.items()) {
    EXPECT_TRUE(k == "code" || k == "message" || k == "trace_id" || k == "field") << "unexpected key " << k;
  }
  if (e.contains("code")) {
    EXPECT_EQ(e["code"], code) << r.body;
  }
  if (e.contains("trace_id")) {
    EXPECT_EQ(e["trace_id"].get<std::string>(), std::string(r.header("x-request-id")));
  }
  if (!field.empty()) {
    EXPECT_EQ(e.value("field", std::string()), field) << r.body;
    EXPECT_NE(e.value("message", std::string()).find(field), std::string::npos)
        << "message does not name '" << field << "': " << r.body;
  }
  return e;
}

}  // namespace tacos::test

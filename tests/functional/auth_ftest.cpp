// Accounts over HTTP: register, log in, and every way a request can be wrong.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

constexpr const char* kRegister = "/api/v1/auth/register";
constexpr const char* kLogin = "/api/v1/auth/login";

class Auth : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { start_server(); }
  static void TearDownTestSuite() { stop_server(); }
  void SetUp() override {
    SharedServerTest::SetUp();
    if (HasFatalFailure()) return;
    client_ = server_->client();
  }

  static json registration(const std::string& username, const std::string& password = "s3cret-pass") {
    return json{{"username", username}, {"password", password}, {"email", username + "@example.com"}};
  }

  net::ClientResponse post(const char* path, const json& body) { return client_->post(path, body.dump()); }

  static void expect_session(const net::ClientResponse& r, int status, const std::string& username,
                             const std::string& display_name, const std::string& role) {
    ASSERT_EQ(r.status, status) << r.body;
    EXPECT_NE(r.header("content-type").find("application/json"), std::string_view::npos);
    auto j = json_body(r);
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_TRUE(j.contains("token") && j["token"].is_string());
    const auto token = j["token"].get<std::string>();
    EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << "a JWT has three parts";
    ASSERT_TRUE(j.contains("user_id") && j["user_id"].is_string());
    EXPECT_FALSE(j["user_id"].get<std::string>().empty());
    EXPECT_EQ(j.value("username", ""), username);
    EXPECT_EQ(j.value("display_name", ""), display_name);
    EXPECT_EQ(j.value("role", ""), role);
    ASSERT_TRUE(j.contains("expires_in") && j["expires_in"].is_number_integer());
    EXPECT_GT(j["expires_in"].get<long long>(), 0);
    EXPECT_FALSE(j.contains("password")) << r.body;
    EXPECT_FALSE(j.contains("password_hash")) << r.body;
  }

  std::unique_ptr<net::HttpClient> client_;
};

TEST_F(Auth, RegisterReturnsCreatedSession) {
  auto name = unique_name("alice");
  auto body = registration(name);
  body["display_name"] = "Alice A.";
  expect_session(post(kRegister, body), 201, name, "Alice A.", "user");
}

TEST_F(Auth, RegisterWithoutDisplayNameUsesUsername) {
  auto name = unique_name("carol");
  expect_session(post(kRegister, registration(name)), 201, name, name, "user");
}

TEST_F(Auth, LoginReturnsSessionOfSameUser) {
  auto name = unique_name("dave");
  auto reg = post(kRegister, registration(name, "dave-password-1"));
  ASSERT_EQ(reg.status, 201) << reg.body;
  auto r = post(kLogin, json{{"username", name}, {"password", "dave-password-1"}});
  expect_session(r, 200, name, name, "user");
  EXPECT_EQ(json_body(r).value("user_id", ""), json_body(reg).value("user_id", ""));
}

TEST_F(Auth, WrongPasswordIsInvalidCredentials) {
  auto name = unique_name("erin");
  ASSERT_EQ(post(kRegister, registration(name, "right-password")).status, 201);
  expect_error(post(kLogin, json{{"username", name}, {"password", "wrong-password"}}), 401, "INVALID_CREDENTIALS");
}

TEST_F(Auth, UnknownUserIsInvalidCredentials) {
  expect_error(post(kLogin, json{{"username", unique_name("nobody")}, {"password", "whatever-123"}}), 401,
               "INVALID_CREDENTIALS");
}

TEST_F(Auth, DuplicateUsernameIsTaken) {
  auto name = unique_name("frank");
  ASSERT_EQ(post(kRegister, registration(name)).status, 201);
  expect_error(post(kRegister, registration(name, "another-pass-1")), 409, "USERNAME_TAKEN");
}

TEST_F(Auth, DuplicateUsernameIgnoresCase) {
  auto name = unique_name("bob");  // "bob_N"
  ASSERT_EQ(post(kRegister, registration(name)).status, 201);
  std::string upper = "B" + name.substr(1);  // "Bob_N"
  expect_error(post(kRegister, registration(upper)), 409, "USERNAME_TAKEN");
}

TEST_F(Auth, LoginIgnoresUsernameCase) {
  auto name = unique_name("gina");
  ASSERT_EQ(post(kRegister, registration(name, "gina-password")).status, 201);
  std::string upper = "G" + name.substr(1);
  auto r = post(kLogin, json{{"username", upper}, {"password", "gina-password"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(Auth, MissingFieldIsValidationErrorNamingField) {
  for (const char* field : {"username", "password", "email"}) {
    SCOPED_TRACE(field);
    auto body = registration(unique_name("henry"));
    body.erase(field);
    expect_error(post(kRegister, body), 400, "VALIDATION_FAILED", field);
  }
}

TEST_F(Auth, NullFieldCountsAsMissing) {
  auto body = registration(unique_name("ivan"));
  body["email"] = nullptr;
  expect_error(post(kRegister, body), 400, "VALIDATION_FAILED", "email");
}

TEST_F(Auth, LoginMissingFieldIsValidationErrorNamingField) {
  expect_error(post(kLogin, json{{"username", "someone"}}), 400, "VALIDATION_FAILED", "password");
  expect_error(post(kLogin, json{{"password", "something-long"}}), 400, "VALIDATION_FAILED", "username");
}

TEST_F(Auth, WrongTypeIsValidationErrorNamingField) {
  auto body = registration(unique_name("judy"));
  body["username"] = 123;
  expect_error(post(kRegister, body), 400, "VALIDATION_FAILED", "username");

  body = registration(unique_name("judy"));
  body["password"] = true;
  expect_error(post(kRegister, body), 400, "VALIDATION_FAILED", "password");

  body = registration(unique_name("judy"));
  body["email"] = json::array({"a@b.c"});
  expect_error(post(kRegister, body), 400, "VALIDATION_FAILED", "email");

  expect_error(post(kLogin, json{{"username", "someone"}, {"password", 12345678}}), 400, "VALIDATION_FAILED",
               "password");
}

TEST_F(Auth, MalformedJsonIsInvalidJson) {
  expect_error(client_->post(kRegister, R"({"username": "x", "password": )"), 400, "INVALID_JSON");
  expect_error(client_->post(kLogin, "not json at all"), 400, "INVALID_JSON");
}

TEST_F(Auth, EmptyBodyIsRejected) {
  auto r = client_->request("POST", kRegister, "", {{"content-type", "application/json"}});
  expect_error(r, 400, "INVALID_JSON");
}

TEST_F(Auth, JsonArrayBodyIsRejected) {
  auto r = client_->post(kRegister, R"([{"username":"kim_1","password":"s3cret-pass","email":"k@example.com"}])");
  EXPECT_EQ(r.status, 400) << r.body;
  expect_error(r, 400, "INVALID_JSON");
}

TEST_F(Auth, DeeplyNestedJsonIsRejected) {
  std::string deep = "{\"username\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  expect_error(client_->post(kRegister, deep), 400, "INVALID_JSON");
  EXPECT_EQ(client_->get("/healthz").status, 200);
}

TEST_F(Auth, InvalidUtf8IsRejected) {
  std::string body = "{\"username\":\"bad\xff\xfename\",\"password\":\"s3cret-pass\",\"email\":\"u@example.com\"}";
  expect_error(client_->post(kRegister, body), 400, "INVALID_JSON");
}

TEST_F(Auth, ConcurrentRegistrationsOfOneNameHaveOneWinner) {
  const auto name = unique_name("racer");
  constexpr int kThreads = 8;
  auto statuses = concurrent_statuses(*server_, kThreads, [&](net::HttpClient& c, int i) {
    return c.post(kRegister, registration(name, "password-" + std::to_string(i)).dump());
  });
  int created = count_of(statuses, 201), taken = count_of(statuses, 409);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(taken, kThreads - 1);
}

TEST_F(Auth, ShortPasswordIsRejected) {
  expect_error(post(kRegister, registration(unique_name("leo"), "short")), 400, "VALIDATION_FAILED", "password");
}

TEST_F(Auth, BadEmailIsRejected) {
  for (const char* email : {"not-an-email", "a@b", "@example.com", "a b@example.com", "a@@example.com"}) {
    SCOPED_TRACE(email);
    auto body = registration(unique_name("mia"));
    body["email"] = email;
    expect_error(post(kRegister, body), 400, "VALIDATION_FAILED", "email");
  }
}

TEST_F(Auth, BadUsernameIsRejected) {
  for (const char* username : {"ab", "has space", "semi;colon"}) {
    SCOPED_TRACE(username);
    expect_error(post(kRegister, registration(username)), 400, "VALIDATION_FAILED", "username");
  }
}

TEST_F(Auth, RejectedRegistrationCreatesNoAccount) {
  auto name = unique_name("nina");
  ASSERT_EQ(post(kRegister, registration(name, "short")).status, 400);
  expect_error(post(kLogin, json{{"username", name}, {"password", "short"}}), 401, "INVALID_CREDENTIALS");
  EXPECT_EQ(post(kRegister, registration(name)).status, 201);
}

TEST_F(Auth, ErrorTraceIdEqualsRequestIdHeader) {
  auto r = post(kLogin, json{{"username", unique_name("oscar")}, {"password", "nope-nope-nope"}});
  auto e = expect_error(r, 401, "INVALID_CREDENTIALS");
  ASSERT_FALSE(r.header("x-request-id").empty());
  EXPECT_EQ(e.value("trace_id", ""), std::string(r.header("x-request-id")));
  // A fresh id per request.
  auto r2 = post(kLogin, json{{"username", unique_name("oscar")}, {"password", "nope-nope-nope"}});
  EXPECT_NE(r.header("x-request-id"), r2.header("x-request-id"));
}

TEST_F(Auth, SuccessfulResponseCarriesRequestId) {
  auto r = post(kRegister, registration(unique_name("pia")));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(r.header("x-request-id").empty());
}

TEST_F(Auth, ClientRequestIdIsEchoed) {
  const std::string rid = "ft-req-0123456789";
  auto r = client_->post(kLogin, json{{"username", unique_name("quinn")}, {"password", "nope-nope-nope"}}.dump(),
                         {{"x-request-id", rid}});
  EXPECT_EQ(std::string(r.header("x-request-id")), rid);
  auto e = expect_error(r, 401, "INVALID_CREDENTIALS");
  EXPECT_EQ(e.value("trace_id", ""), rid);

  auto ok = client_->get("/healthz", {{"x-request-id", rid}});
  EXPECT_EQ(std::string(ok.header("x-request-id")), rid);
}

TEST_F(Auth, UnsafeClientRequestIdIsReplaced) {
  for (const std::string& bad : {std::string("has spaces in it"), std::string(100, 'a'), std::string("a\"b")}) {
    SCOPED_TRACE(bad);
    auto r = client_->post(kLogin, json{{"username", unique_name("rita")}, {"password", "nope-nope-nope"}}.dump(),
                           {{"x-request-id", bad}});
    std::string rid(r.header("x-request-id"));
    EXPECT_FALSE(rid.empty());
    EXPECT_NE(rid, bad);
    auto e = expect_error(r, 401, "INVALID_CREDENTIALS");
    EXPECT_EQ(e.value("trace_id", ""), rid);
  }
}

TEST_F(Auth, AdminLoginHasAdminRole) {
  auto r = post(kLogin, json{{"username", kAdminUser}, {"password", kAdminPassword}});
  expect_session(r, 200, kAdminUser, kAdminUser, "admin");
}

TEST_F(Auth, AdminNameCannotBeRegistered) {
  expect_error(post(kRegister, registration(kAdminUser)), 409, "USERNAME_TAKEN");
  expect_error(post(kRegister, registration("ADMIN")), 409, "USERNAME_TAKEN");
}

}  // namespace
}  // namespace tacos::test

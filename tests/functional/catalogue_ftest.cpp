// The event catalogue over HTTP: admin creates events, anyone browses them.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/invariants.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

constexpr const char* kAdminEvents = "/api/v1/admin/events";

json seated_event(const std::string& id) {
  return json{{"id", id},
              {"name", "Functional Test Live"},
              {"venue", "Loopback Arena"},
              {"starts_at", "2027-01-01T19:00:00Z"},
              {"sale_starts_at", "2026-01-01T10:00:00Z"},
              {"hold_ttl_sec", 90},
              {"admission_rate", 50},
              {"currency", "USD"},
              {"sections", json::array({json{{"name", "VIP"}, {"price", 1000}, {"rows", 2}, {"seats_per_row", 3}},
                                        json{{"name", "R"}, {"price", 500}, {"rows", 1}, {"seats_per_row", 4}}})}};
}

json ga_event(const std::string& id, int quantity = 100) {
  return json{{"id", id},
              {"name", "Standing Room"},
              {"venue", "Loopback Field"},
              {"starts_at", "2027-02-01T19:00:00Z"},
              {"general_admission", json{{"quantity", quantity}, {"price", 500}}}};
}

class Catalogue : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    server_->start();
    auto c = server_->client();
    admin_token_ = new std::string(login(*c, kAdminUser, kAdminPassword));
    user_token_ = new std::string(register_user(*c, "catalogue_fan"));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete admin_token_;
    delete user_token_;
    server_ = nullptr;
    admin_token_ = user_token_ = nullptr;
  }
  void TearDown() override {
    if (server_) expect_invariants(*server_);  // capacity = free + held + sold for every new event
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_FALSE(admin_token_->empty());
    ASSERT_FALSE(user_token_->empty());
    client_ = server_->client();
  }

  net::ClientResponse create(const json& body) {
    return client_->post(kAdminEvents, body.dump(), bearer(*admin_token_));
  }

  /// Posts `body` and expects a 400 VALIDATION_FAILED naming `field`.
  void expect_rejected(const json& body, const std::string& field) {
    expect_error(create(body), 400, "VALIDATION_FAILED", field);
    if (body.contains("id") && body["id"].is_string()) {
      // Nothing was stored.
      auto r = client_->get("/api/v1/events/" + body["id"].get<std::string>());
      EXPECT_EQ(r.status, 404) << r.body;
    }
  }

  static ServerProcess* server_;
  static std::string* admin_token_;
  static std::string* user_token_;
  std::unique_ptr<net::HttpClient> client_;
};

ServerProcess* Catalogue::server_ = nullptr;
std::string* Catalogue::admin_token_ = nullptr;
std::string* Catalogue::user_token_ = nullptr;

TEST_F(Catalogue, CreateWithoutTokenIsUnauthorized) {
  auto id = unique_name("evt_anon");
  auto r = client_->post(kAdminEvents, seated_event(id).dump());
  expect_error(r, 401, "UNAUTHORIZED");
  EXPECT_EQ(client_->get("/api/v1/events/" + id).status, 404);
}

TEST_F(Catalogue, CreateWithUserTokenIsForbidden) {
  auto id = unique_name("evt_user");
  expect_error(client_->post(kAdminEvents, seated_event(id).dump(), bearer(*user_token_)), 403, "FORBIDDEN");
  EXPECT_EQ(client_->get("/api/v1/events/" + id).status, 404);
}

TEST_F(Catalogue, CreateWithGarbageTokenIsUnauthorized) {
  auto id = unique_name("evt_garbage");
  auto r = client_->post(kAdminEvents, seated_event(id).dump(), bearer("not.a.jwt"));
  EXPECT_EQ(r.status, 401) << r.body;
  auto e = expect_error(r, 401, "INVALID_TOKEN");
  auto r2 = client_->post(kAdminEvents, seated_event(id).dump(), {{"authorization", "Basic YWRtaW46YWRtaW4="}});
  EXPECT_EQ(r2.status, 401) << r2.body;
  // A user token with its signature swapped for the admin's is not accepted either.
  auto user = *user_token_;
  auto admin = *admin_token_;
  auto forged = user.substr(0, user.rfind('.')) + admin.substr(admin.rfind('.'));
  EXPECT_EQ(client_->post(kAdminEvents, seated_event(id).dump(), bearer(forged)).status, 401);
  EXPECT_EQ(client_->get("/api/v1/events/" + id).status, 404);
}

TEST_F(Catalogue, AdminGuardCannotBeSidesteppedWithExtraSlashes) {
  // Routing ignores empty path segments, so these all reach the create handler.
  for (std::string path : {"//api/v1/admin/events", "/api/v1//admin/events", "/api//v1/admin/events",
                           "/api/v1/admin//events", "/api/v1/admin/events/"}) {
    SCOPED_TRACE(path);
    auto id = unique_name("evt_sneaky");
    auto anon = client_->post(path, seated_event(id).dump());
    EXPECT_EQ(anon.status, 401) << anon.body;
    auto user = client_->post(path, seated_event(id).dump(), bearer(*user_token_));
    EXPECT_EQ(user.status, 403) << user.body;
    EXPECT_EQ(client_->get("/api/v1/events/" + id).status, 404) << "the event was created without the admin role";
  }
}

TEST_F(Catalogue, ConcurrentCreatesWithOneIdHaveOneWinner) {
  const auto id = unique_name("evt_race");
  constexpr int kThreads = 8;
  auto statuses = concurrent_statuses(*server_, kThreads, [&](net::HttpClient& c, int) {
    return c.post(kAdminEvents, seated_event(id).dump(), bearer(*admin_token_));
  });
  int created = count_of(statuses, 201), conflicts = count_of(statuses, 409);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, kThreads - 1);
  auto seats = json_body(client_->get("/api/v1/events/" + id + "/seats"));
  EXPECT_EQ(seats["seats"].size(), 10u) << "seats must not be duplicated by the losers";
}

TEST_F(Catalogue, NonIntegerNumbersAreRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["sections"][0]["rows"] = 1.5;
  expect_rejected(body, "sections[0].rows");
  body = seated_event(unique_name("evt_bad"));
  body["sections"][0]["seats_per_row"] = json::parse("100000000000000000000");
  expect_rejected(body, "sections[0].seats_per_row");
  body = seated_event(unique_name("evt_bad"));
  body["sections"][0]["price"] = -1;
  expect_rejected(body, "sections[0].price");
  body = seated_event(unique_name("evt_bad"));
  body["hold_ttl_sec"] = "90";
  expect_rejected(body, "hold_ttl_sec");
  auto ga = ga_event(unique_name("evt_bad"));
  ga["general_admission"]["quantity"] = 0;
  expect_rejected(ga, "general_admission.quantity");
}

TEST_F(Catalogue, TooManySeatsAreRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["sections"] = json::array();
  for (int i = 0; i < 3; ++i) {
    body["sections"].push_back(
        json{{"name", "S" + std::to_string(i)}, {"price", 1}, {"rows", 1000}, {"seats_per_row", 100}});
  }
  auto e = expect_error(create(body), 400, "VALIDATION_FAILED");
  EXPECT_EQ(e.value("field", ""), "sections") << e.dump();
  EXPECT_EQ(client_->get("/api/v1/events/" + body["id"].get<std::string>()).status, 404);
}

TEST_F(Catalogue, AdminCreatesSeatedEvent) {
  auto id = unique_name("evt_ft");
  auto r = create(seated_event(id));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(std::string(r.header("location")), "/api/v1/events/" + id);
  auto j = json_body(r);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("event_id", ""), id);
  EXPECT_EQ(j.value("name", ""), "Functional Test Live");
  EXPECT_EQ(j.value("venue", ""), "Loopback Arena");
  EXPECT_EQ(j.value("starts_at", ""), "2027-01-01T19:00:00Z");
  EXPECT_EQ(j.value("sale_starts_at", ""), "2026-01-01T10:00:00Z");
  EXPECT_EQ(j.value("currency", ""), "USD");
  EXPECT_EQ(j.value("hold_ttl_sec", 0), 90);
  EXPECT_EQ(j.value("admission_rate", 0), 50);
  EXPECT_EQ(j.value("capacity", 0), 10);
  EXPECT_EQ(j.value("available", 0), 10);
  EXPECT_EQ(j.value("general_admission", true), false);
}

TEST_F(Catalogue, EventShowsSectionsWithAvailability) {
  auto id = unique_name("evt_ft");
  ASSERT_EQ(create(seated_event(id)).status, 201);
  auto r = client_->get("/api/v1/events/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_body(r);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("event_id", ""), id);
  EXPECT_EQ(j.value("capacity", 0), 10);
  EXPECT_EQ(j.value("available", 0), 10);
  EXPECT_EQ(j.value("min_price", 0), 500);
  EXPECT_EQ(j.value("max_price", 0), 1000);
  EXPECT_EQ(j.value("on_sale", false), true);  // sale started in 2026
  ASSERT_TRUE(j.contains("sections") && j["sections"].is_array());
  ASSERT_EQ(j["sections"].size(), 2u);
  const auto& vip = j["sections"][0];
  EXPECT_EQ(vip.value("name", ""), "VIP");
  EXPECT_EQ(vip.value("price", 0), 1000);
  EXPECT_EQ(vip.value("capacity", 0), 6);
  EXPECT_EQ(vip.value("available", 0), 6);
  EXPECT_EQ(vip.value("held", -1), 0);
  EXPECT_EQ(vip.value("sold", -1), 0);
  EXPECT_EQ(vip.value("rows", 0), 2);
  EXPECT_EQ(vip.value("seats_per_row", 0), 3);
  const auto& r_sec = j["sections"][1];
  EXPECT_EQ(r_sec.value("name", ""), "R");
  EXPECT_EQ(r_sec.value("price", 0), 500);
  EXPECT_EQ(r_sec.value("capacity", 0), 4);
  EXPECT_EQ(r_sec.value("available", 0), 4);
  EXPECT_EQ(r_sec.value("held", -1), 0);
  EXPECT_EQ(r_sec.value("sold", -1), 0);
}

TEST_F(Catalogue, SeatMapListsEverySeatAvailable) {
  auto id = unique_name("evt_ft");
  ASSERT_EQ(create(seated_event(id)).status, 201);
  auto r = client_->get("/api/v1/events/" + id + "/seats");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_body(r);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("event_id", ""), id);
  ASSERT_TRUE(j.contains("seats") && j["seats"].is_array());
  std::set<std::string> got;
  for (const auto& s : j["seats"]) {
    EXPECT_EQ(s.value("status", ""), "AVAILABLE") << s.dump();
    auto seat_id = s.value("seat_id", "");
    EXPECT_EQ(seat_id, s.value("section", "") + "-" + std::to_string(s.value("row", 0)) + "-" +
                           std::to_string(s.value("number", 0)));
    got.insert(seat_id);
  }
  std::set<std::string> want{"VIP-1-1", "VIP-1-2", "VIP-1-3", "VIP-2-1", "VIP-2-2",
                             "VIP-2-3", "R-1-1",   "R-1-2",   "R-1-3",   "R-1-4"};
  EXPECT_EQ(j["seats"].size(), want.size());
  EXPECT_EQ(got, want);
}

TEST_F(Catalogue, GeneralAdmissionEventHasQuantityAndNoSeats) {
  auto id = unique_name("evt_ga");
  auto created = create(ga_event(id, 100));
  ASSERT_EQ(created.status, 201) << created.body;
  auto r = client_->get("/api/v1/events/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_body(r);
  EXPECT_EQ(j.value("general_admission", false), true);
  EXPECT_EQ(j.value("capacity", 0), 100);
  EXPECT_EQ(j.value("available", 0), 100);
  EXPECT_EQ(j.value("currency", ""), "KRW");  // the default
  ASSERT_TRUE(j.contains("sections") && j["sections"].is_array());
  ASSERT_EQ(j["sections"].size(), 1u);
  EXPECT_EQ(j["sections"][0].value("capacity", 0), 100);
  EXPECT_EQ(j["sections"][0].value("available", 0), 100);
  EXPECT_EQ(j["sections"][0].value("price", 0), 500);
  EXPECT_EQ(j["sections"][0].value("held", -1), 0);
  EXPECT_EQ(j["sections"][0].value("sold", -1), 0);

  auto seats = client_->get("/api/v1/events/" + id + "/seats");
  ASSERT_EQ(seats.status, 200) << seats.body;
  auto sj = json_body(seats);
  ASSERT_TRUE(sj.contains("seats") && sj["seats"].is_array()) << seats.body;
  EXPECT_TRUE(sj["seats"].empty());
  EXPECT_EQ(sj.value("general_admission", false), true);
  EXPECT_EQ(sj.value("available", 0), 100);
}

TEST_F(Catalogue, DefaultsApplyWhenOptionalFieldsAreMissing) {
  auto body = ga_event(unique_name("evt_defaults"));
  auto r = create(body);
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = json_body(r);
  EXPECT_EQ(j.value("hold_ttl_sec", 0), 60);
  EXPECT_EQ(j.value("admission_rate", 0), 100);
  EXPECT_EQ(j.value("on_sale", false), true);  // sale_starts_at defaults to now
}

TEST_F(Catalogue, FutureSaleIsNotOnSale) {
  auto body = ga_event(unique_name("evt_future"));
  body["starts_at"] = "2099-06-01T19:00:00Z";
  body["sale_starts_at"] = "2099-01-01T10:00:00Z";
  auto r = create(body);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_body(r).value("on_sale", true), false);
  EXPECT_EQ(json_body(client_->get("/api/v1/events/" + body["id"].get<std::string>())).value("on_sale", true), false);
}

TEST_F(Catalogue, IdIsGeneratedWhenNotGiven) {
  auto body = seated_event("x");
  body.erase("id");
  auto r = create(body);
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = json_body(r).value("event_id", "");
  EXPECT_EQ(id.rfind("evt_", 0), 0u) << id;
  EXPECT_GT(id.size(), 4u);
  EXPECT_EQ(std::string(r.header("location")), "/api/v1/events/" + id);
  EXPECT_EQ(client_->get("/api/v1/events/" + id).status, 200);

  auto r2 = create(body);
  ASSERT_EQ(r2.status, 201) << r2.body;
  EXPECT_NE(json_body(r2).value("event_id", ""), id);
}

TEST_F(Catalogue, DuplicateIdIsConflict) {
  auto id = unique_name("evt_dup");
  ASSERT_EQ(create(seated_event(id)).status, 201);
  expect_error(create(ga_event(id)), 409, "EVENT_EXISTS");
  // The first event is untouched.
  auto j = json_body(client_->get("/api/v1/events/" + id));
  EXPECT_EQ(j.value("capacity", 0), 10);
  EXPECT_EQ(j.value("general_admission", true), false);
}

TEST_F(Catalogue, MissingNameIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body.erase("name");
  expect_rejected(body, "name");
}

TEST_F(Catalogue, MissingStartsAtIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body.erase("starts_at");
  expect_rejected(body, "starts_at");
}

TEST_F(Catalogue, StartsAtNotRfc3339IsRejected) {
  for (const char* text : {"tomorrow", "2027-01-01 19:00", "2027-13-01T19:00:00Z", "1735758000"}) {
    SCOPED_TRACE(text);
    auto body = seated_event(unique_name("evt_bad"));
    body["starts_at"] = text;
    expect_rejected(body, "starts_at");
  }
  auto body = seated_event(unique_name("evt_bad"));
  body["starts_at"] = 1735758000;
  expect_rejected(body, "starts_at");
}

TEST_F(Catalogue, BothSectionsAndGeneralAdmissionIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["general_admission"] = json{{"quantity", 10}, {"price", 100}};
  expect_rejected(body, "sections");
}

TEST_F(Catalogue, NeitherSectionsNorGeneralAdmissionIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body.erase("sections");
  expect_rejected(body, "sections");
  body["sections"] = json::array();
  expect_rejected(body, "sections");
}

TEST_F(Catalogue, ZeroRowsIsRejectedWithIndexedField) {
  auto body = seated_event(unique_name("evt_bad"));
  body["sections"][1]["rows"] = 0;
  expect_rejected(body, "sections[1].rows");
}

TEST_F(Catalogue, PriceAsStringIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["sections"][0]["price"] = "1000";
  expect_rejected(body, "sections[0].price");

  auto ga = ga_event(unique_name("evt_bad"));
  ga["general_admission"]["price"] = "500";
  expect_rejected(ga, "general_admission.price");
}

TEST_F(Catalogue, InvalidSlugIsRejected) {
  auto body = seated_event("Bad Id!");
  expect_error(create(body), 400, "VALIDATION_FAILED", "id");
  expect_error(create(seated_event("x")), 400, "VALIDATION_FAILED", "id");  // too short
}

TEST_F(Catalogue, DuplicateSectionNamesAreRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["sections"][1]["name"] = "VIP";
  auto e = expect_error(create(body), 400, "VALIDATION_FAILED");
  EXPECT_EQ(e.value("field", ""), "sections[1].name") << e.dump();
  EXPECT_NE(e.value("message", "").find("VIP"), std::string::npos) << e.dump();
  EXPECT_EQ(client_->get("/api/v1/events/" + body["id"].get<std::string>()).status, 404);
}

TEST_F(Catalogue, SaleStartAfterEventStartIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["sale_starts_at"] = "2027-01-02T00:00:00Z";
  expect_rejected(body, "sale_starts_at");
}

TEST_F(Catalogue, BadCurrencyIsRejected) {
  auto body = seated_event(unique_name("evt_bad"));
  body["currency"] = "usd";
  expect_rejected(body, "currency");
  body["currency"] = "EURO";
  expect_rejected(body, "currency");
}

TEST_F(Catalogue, MalformedBodyIsInvalidJson) {
  expect_error(client_->post(kAdminEvents, "{\"name\":", bearer(*admin_token_)), 400, "INVALID_JSON");
  expect_error(client_->post(kAdminEvents, "[]", bearer(*admin_token_)), 400, "INVALID_JSON");
}

TEST_F(Catalogue, ListShowsCreatedEvents) {
  auto seated = unique_name("evt_list");
  auto ga = unique_name("evt_list");
  ASSERT_EQ(create(seated_event(seated)).status, 201);
  ASSERT_EQ(create(ga_event(ga, 40)).status, 201);
  auto r = client_->get("/api/v1/events");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_body(r);
  ASSERT_TRUE(j.contains("events") && j["events"].is_array()) << r.body;
  bool saw_seated = false, saw_ga = false;
  for (const auto& e : j["events"]) {
    if (e.value("event_id", "") == seated) {
      saw_seated = true;
      EXPECT_EQ(e.value("capacity", 0), 10);
      EXPECT_EQ(e.value("name", ""), "Functional Test Live");
    }
    if (e.value("event_id", "") == ga) {
      saw_ga = true;
      EXPECT_EQ(e.value("capacity", 0), 40);
      EXPECT_EQ(e.value("general_admission", false), true);
    }
  }
  EXPECT_TRUE(saw_seated) << r.body;
  EXPECT_TRUE(saw_ga) << r.body;
}

TEST_F(Catalogue, UnknownEventIsNotFound) {
  expect_error(client_->get("/api/v1/events/evt_does_not_exist"), 404, "NOT_FOUND");
  expect_error(client_->get("/api/v1/events/evt_does_not_exist/seats"), 404, "NOT_FOUND");
}

TEST_F(Catalogue, MatchingIfNoneMatchGetsNotModified) {
  auto id = unique_name("evt_etag");
  ASSERT_EQ(create(seated_event(id)).status, 201);
  for (std::string path : {"/api/v1/events/" + id, "/api/v1/events/" + id + "/seats", std::string("/api/v1/events")}) {
    SCOPED_TRACE(path);
    auto r = client_->get(path);
    ASSERT_EQ(r.status, 200) << r.body;
    std::string etag(r.header("etag"));
    ASSERT_FALSE(etag.empty());
    auto again = client_->get(path);
    EXPECT_EQ(std::string(again.header("etag")), etag) << "the ETag is stable while nothing changes";
    auto cached = client_->get(path, {{"if-none-match", etag}});
    EXPECT_EQ(cached.status, 304);
    EXPECT_TRUE(cached.body.empty()) << cached.body;
    EXPECT_EQ(std::string(cached.header("etag")), etag);
    auto stale = client_->get(path, {{"if-none-match", "\"0000000000000000\""}});
    EXPECT_EQ(stale.status, 200);
    EXPECT_EQ(stale.body, r.body);
  }
}

TEST_F(Catalogue, ListEtagChangesWhenAnEventIsCreated) {
  ASSERT_EQ(create(ga_event(unique_name("evt_etag"))).status, 201);
  auto before = client_->get("/api/v1/events");
  ASSERT_EQ(before.status, 200);
  std::string etag(before.header("etag"));
  ASSERT_FALSE(etag.empty());
  ASSERT_EQ(create(ga_event(unique_name("evt_etag"))).status, 201);
  auto after = client_->get("/api/v1/events", {{"if-none-match", etag}});
  EXPECT_EQ(after.status, 200) << "a stale ETag must not get 304";
  EXPECT_NE(std::string(after.header("etag")), etag);
  EXPECT_GT(json_body(after)["events"].size(), json_body(before)["events"].size());
}

TEST(CatalogueDemo, SeedCreatesTenThousandSeatDemoEvent) {
  ServerProcess server(Env{{"TACOS_DEMO_SEED", "true"}});
  server.start();
  auto c = server.client();
  auto r = c->get("/api/v1/events/evt_2025_1001");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_body(r);
  EXPECT_EQ(j.value("capacity", 0), 10000);
  EXPECT_EQ(j.value("available", 0), 10000);
  EXPECT_EQ(j.value("on_sale", false), true);
  EXPECT_EQ(j.value("general_admission", true), false);
  std::vector<std::string> names;
  long long total = 0;
  for (const auto& s : j["sections"]) {
    names.push_back(s.value("name", ""));
    total += s.value("capacity", 0LL);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"VIP", "R", "S", "A", "B", "C", "D", "E", "F"}));
  EXPECT_EQ(total, 10000);

  auto seats = c->get("/api/v1/events/evt_2025_1001/seats");
  ASSERT_EQ(seats.status, 200);
  auto sj = json_body(seats);
  ASSERT_TRUE(sj.contains("seats") && sj["seats"].is_array());
  EXPECT_EQ(sj["seats"].size(), 10000u);
  std::set<std::string> ids;
  for (const auto& s : sj["seats"]) ids.insert(s.value("seat_id", ""));
  EXPECT_EQ(ids.size(), 10000u) << "seat ids are unique";

  auto list = json_body(c->get("/api/v1/events"));
  ASSERT_TRUE(list.contains("events"));
  bool listed = false;
  for (const auto& e : list["events"]) listed = listed || e.value("event_id", "") == "evt_2025_1001";
  EXPECT_TRUE(listed);
}

TEST(CatalogueDemo, SeedingTwiceKeepsOneDemoEvent) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    ServerProcess first(Env{{"TACOS_DEMO_SEED", "true"}}, {}, data);
    first.start();
    EXPECT_EQ(first.stop(), 0);
  }
  ServerProcess second(Env{{"TACOS_DEMO_SEED", "true"}}, {}, data);
  second.start();
  auto c = second.client();
  auto list = json_body(c->get("/api/v1/events"));
  int count = 0;
  for (const auto& e : list["events"]) count += e.value("event_id", "") == "evt_2025_1001" ? 1 : 0;
  EXPECT_EQ(count, 1);
  EXPECT_EQ(json_body(c->get("/api/v1/events/evt_2025_1001")).value("capacity", 0), 10000);
}

}  // namespace
}  // namespace tacos::test

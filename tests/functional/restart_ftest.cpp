// What was acknowledged survives `kill -9`: accounts, tokens (same secret) and the catalogue.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/api_checks.hpp"
#include "support/buyer_flow.hpp"
#include "support/invariants.hpp"
#include "support/server_process.hpp"

namespace tacos::test {
namespace {

using nlohmann::json;

json seated_event(const std::string& id) {
  return json{{"id", id},
              {"name", "Crash Test Concert"},
              {"venue", "Durable Hall"},
              {"starts_at", "2027-03-01T19:00:00Z"},
              {"sale_starts_at", "2026-01-01T00:00:00Z"},
              {"sections", json::array({json{{"name", "VIP"}, {"price", 1000}, {"rows", 3}, {"seats_per_row", 4}},
                                        json{{"name", "A"}, {"price", 700}, {"rows", 5}, {"seats_per_row", 10}}})}};
}

json ga_event(const std::string& id) {
  return json{{"id", id},
              {"name", "Crash Test Festival"},
              {"venue", "Durable Field"},
              {"starts_at", "2027-04-01T12:00:00Z"},
              {"general_admission", json{{"quantity", 750}, {"price", 300}}}};
}

/// What one server said about the catalogue, to compare with what the next one says.
struct Snapshot {
  std::string list;
  std::map<std::string, std::string> events;
  std::map<std::string, std::string> seats;
};

Snapshot snapshot(net::HttpClient& c, const std::vector<std::string>& ids) {
  Snapshot s;
  auto list = c.get("/api/v1/events");
  EXPECT_EQ(list.status, 200);
  s.list = list.body;
  for (const auto& id : ids) {
    auto e = c.get("/api/v1/events/" + id);
    EXPECT_EQ(e.status, 200) << id << ": " << e.body;
    s.events[id] = e.body;
    auto seats = c.get("/api/v1/events/" + id + "/seats");
    EXPECT_EQ(seats.status, 200) << id << ": " << seats.body;
    s.seats[id] = seats.body;
  }
  return s;
}

TEST(Restart, StateSurvivesKill9) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::vector<std::string> users{"durable_ann", "durable_ben", "Durable_Cat"};
  const std::vector<std::string> ids{"evt_crash_seated", "evt_crash_ga"};
  std::string admin_token;
  std::string user_token;
  std::string generated_id;
  Snapshot before;
  {
    ServerProcess first(Env{}, {}, data);
    first.start();
    auto c = first.client();
    for (const auto& u : users) user_token = register_user(*c, u, u + "-password");
    admin_token = login(*c, kAdminUser, kAdminPassword);
    ASSERT_FALSE(admin_token.empty());
    auto seated = c->post("/api/v1/admin/events", seated_event(ids[0]).dump(), bearer(admin_token));
    ASSERT_EQ(seated.status, 201) << seated.body;
    auto ga = c->post("/api/v1/admin/events", ga_event(ids[1]).dump(), bearer(admin_token));
    ASSERT_EQ(ga.status, 201) << ga.body;
    auto body = seated_event("unused");
    body.erase("id");
    auto gen = c->post("/api/v1/admin/events", body.dump(), bearer(admin_token));
    ASSERT_EQ(gen.status, 201) << gen.body;
    generated_id = json_body(gen).value("event_id", "");
    ASSERT_FALSE(generated_id.empty());
    auto all_ids = ids;
    all_ids.push_back(generated_id);
    before = snapshot(*c, all_ids);
    // Every write above was acknowledged; now the process dies without any chance to flush.
    first.kill9();
    EXPECT_FALSE(first.running());
  }

  ServerProcess second(Env{}, {}, data);  // same data dir, same JWT secret (the test default)
  second.start();
  expect_invariants(second);
  auto c = second.client();

  // Accounts: every user logs in with the password it registered with, and no other.
  for (const auto& u : users) {
    SCOPED_TRACE(u);
    auto r = c->post("/api/v1/auth/login", json{{"username", u}, {"password", u + "-password"}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json_body(r).value("username", ""), u);
    EXPECT_EQ(json_body(r).value("role", ""), "user");
    expect_error(c->post("/api/v1/auth/login", json{{"username", u}, {"password", "wrong-password"}}.dump()), 401,
                 "INVALID_CREDENTIALS");
    expect_error(c->post("/api/v1/auth/register",
                         json{{"username", u}, {"password", "s3cret-pass"}, {"email", "x@example.com"}}.dump()),
                 409, "USERNAME_TAKEN");
  }
  login(*c, kAdminUser, kAdminPassword);

  // Tokens issued before the crash still verify: the old admin token can still create events,
  // and the old user token is still a (non-admin) identity.
  auto created = c->post("/api/v1/admin/events", ga_event("evt_after_restart").dump(), bearer(admin_token));
  EXPECT_EQ(created.status, 201) << created.body;
  expect_error(c->post("/api/v1/admin/events", ga_event("evt_by_user").dump(), bearer(user_token)), 403, "FORBIDDEN");

  // The catalogue is exactly as it was.
  auto all_ids = ids;
  all_ids.push_back(generated_id);
  auto after = snapshot(*c, all_ids);
  for (const auto& id : all_ids) {
    SCOPED_TRACE(id);
    EXPECT_EQ(after.events[id], before.events[id]);
    EXPECT_EQ(after.seats[id], before.seats[id]);
  }
  auto seated = json::parse(after.events[ids[0]]);
  EXPECT_EQ(seated.value("capacity", 0), 62);
  EXPECT_EQ(seated.value("available", 0), 62);
  ASSERT_EQ(seated["sections"].size(), 2u);
  EXPECT_EQ(seated["sections"][0].value("capacity", 0), 12);
  EXPECT_EQ(seated["sections"][1].value("capacity", 0), 50);
  EXPECT_EQ(json::parse(after.seats[ids[0]])["seats"].size(), 62u);
  auto ga = json::parse(after.events[ids[1]]);
  EXPECT_EQ(ga.value("capacity", 0), 750);
  EXPECT_EQ(ga.value("available", 0), 750);
  EXPECT_EQ(ga.value("general_admission", false), true);
  EXPECT_TRUE(json::parse(after.seats[ids[1]])["seats"].empty());

  auto list = json::parse(after.list);
  std::vector<std::string> listed;
  for (const auto& e : list["events"]) listed.push_back(e.value("event_id", ""));
  for (const auto& id : all_ids) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), id), listed.end()) << id << " missing from the list";
  }
  // A taken id stays taken.
  expect_error(c->post("/api/v1/admin/events", seated_event(ids[0]).dump(), bearer(admin_token)), 409, "EVENT_EXISTS");
}

TEST(Restart, TokensDieWithADifferentSecret) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::string token;
  {
    ServerProcess first(Env{}, {}, data);
    first.start();
    auto c = first.client();
    token = login(*c, kAdminUser, kAdminPassword);
    first.kill9();
  }
  ServerProcess second(Env{{"TACOS_AUTH_JWT_SECRET", "a-completely-different-secret-0123456789"}}, {}, data);
  second.start();
  auto c = second.client();
  auto r = c->post("/api/v1/admin/events", ga_event("evt_other_secret").dump(), bearer(token));
  expect_error(r, 401, "INVALID_TOKEN");
  // The account itself is still there.
  EXPECT_FALSE(login(*c, kAdminUser, kAdminPassword).empty());
}

// Holds' Idempotency-Keys live in the ledger's in-memory index, rebuilt from the reservations
// at start (docs/architecture.md): after kill -9 the gateway remembers nothing, so a replay is
// answered from the store, the key still refuses another request, and "my reservations" lists
// each buyer's own.
TEST(Restart, HoldKeysAreAnsweredFromTheStoreAfterKill9) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string event = "evt_keys_restart";
  const std::string key = "3f0c9a1e-5b7d-4e2a-9c61-0d8b2f4a7e15";
  auto hold = [&](net::HttpClient& c, const std::string& token, const std::string& seat, const std::string& rt) {
    auto headers = bearer(token);
    headers.push_back({"idempotency-key", key});
    return c.post("/api/v1/reservations",
                  json{{"event_id", event}, {"seat_ids", {seat}}, {"reservation_token", rt}}.dump(), headers);
  };
  std::string ann, ben, ann_rt, ann_id, ben_id;
  {
    ServerProcess first(Env{}, {}, data);
    first.start();
    auto c = first.client();
    ann = register_user(*c, "keys_ann", "keys-ann-password");
    ben = register_user(*c, "keys_ben", "keys-ben-password");
    ASSERT_TRUE(create_event(*c, login(*c, kAdminUser, kAdminPassword), seated_event_spec(event, 1, 4, 600)));
    std::string why;
    ann_rt = admit(*c, ann, event, &why);
    ASSERT_FALSE(ann_rt.empty()) << why;
    auto ben_rt = admit(*c, ben, event, &why);
    ASSERT_FALSE(ben_rt.empty()) << why;
    auto a = hold(*c, ann, "A-1-1", ann_rt);
    ASSERT_EQ(a.status, 201) << a.body;
    ann_id = json_body(a).value("reservation_id", "");
    auto b = hold(*c, ben, "A-1-2", ben_rt);  // the same key from another buyer is its own request
    ASSERT_EQ(b.status, 201) << b.body;
    ben_id = json_body(b).value("reservation_id", "");
    ASSERT_NE(ann_id, ben_id);
    first.kill9();
  }

  ServerProcess second(Env{}, {}, data);
  second.start();
  auto c = second.client();
  auto again = hold(*c, ann, "A-1-1", ann_rt);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(json_body(again).value("reservation_id", ""), ann_id);
  expect_error(hold(*c, ann, "A-1-3", ann_rt), 422, "IDEMPOTENCY_KEY_MISMATCH");
  for (const auto& [token, id] : {std::pair{ann, ann_id}, std::pair{ben, ben_id}}) {
    auto mine = json_body(c->get("/api/v1/reservations", bearer(token)));
    ASSERT_EQ(mine["reservations"].size(), 1u) << mine;
    EXPECT_EQ(mine["reservations"][0].value("reservation_id", ""), id);
  }
  auto seats = json_body(c->get("/api/v1/events/" + event + "/seats"));
  for (const auto& s : seats["seats"]) {
    auto id = s.value("seat_id", "");
    EXPECT_EQ(s.value("status", ""), id == "A-1-1" || id == "A-1-2" ? "HELD" : "AVAILABLE") << id;
  }
  expect_invariants(second);
}

TEST(Restart, GracefulRestartKeepsState) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    ServerProcess first(Env{}, {}, data);
    first.start();
    auto c = first.client();
    register_user(*c, "graceful_gus", "graceful-password");
    auto admin = login(*c, kAdminUser, kAdminPassword);
    ASSERT_EQ(c->post("/api/v1/admin/events", ga_event("evt_graceful").dump(), bearer(admin)).status, 201);
    c->close();
    ASSERT_EQ(first.stop(), 0);
  }
  ServerProcess second(Env{}, {}, data);
  second.start();
  auto c = second.client();
  EXPECT_FALSE(login(*c, "graceful_gus", "graceful-password").empty());
  EXPECT_EQ(json_body(c->get("/api/v1/events/evt_graceful")).value("capacity", 0), 750);
}

}  // namespace
}  // namespace tacos::test

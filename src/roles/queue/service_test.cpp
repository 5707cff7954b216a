#include "roles/queue/service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "kv/redis.hpp"
#include "store/store.hpp"  // StoreError
#include "support/redis.hpp"

namespace tacos::queue {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

// Joins and returns the answer: at once in memory, after a flush with a store.
Result<JoinResult> join_now(QueueService& service, std::string_view event, const Subject& who) {
  std::optional<Result<JoinResult>> out;
  service.join(event, who, [&out](Result<JoinResult> r) { out = std::move(r); });
  if (!out) service.flush();
  if (!out) return Error(Errc::internal, "join was not answered");
  return std::move(*out);
}

class FakeInventory final : public inventory::InventoryClient {
 public:
  void event_info(std::string id, Done<inventory::EventInfo> done) override {
    inventory::EventInfo e;
    e.id = id;
    e.admission_rate = 1000;
    e.active_buyer_cap = 100;
    if (id == "evt_open") {
      e.sale_starts_at_ms = kT0 - 1000;
      return done(e);
    }
    if (id == "evt_later") {
      e.sale_starts_at_ms = kT0 + 60'000;
      return done(e);
    }
    done(Error(Errc::not_found, "no event"));
  }
  void event_counts(std::string, Done<inventory::EventCounts> done) override { done(inventory::EventCounts{}); }
  void set_queue_settings(std::string, int rate, int cap, DoneStatus done) override {
    last_rate = rate;
    last_cap = cap;
    done(Status());
  }
  // The queue never holds seats; these are not reached.
  void hold(inventory::HoldRequest, Done<inventory::HoldPlan> done) override { done(Error(Errc::internal, "")); }
  void undo_hold(inventory::HoldPlan) override {}
  void changed(inventory::SeatChange) override {}
  int last_rate = 0;
  int last_cap = 0;
};

// The synchronous shapes of the service's answers, for these tests.
template <typename T, typename Call>
Result<T> now(Call call) {
  std::optional<Result<T>> out;
  call([&out](Result<T> r) { out = std::move(r); });
  if (!out) return Error(Errc::internal, "not answered at once");
  return std::move(*out);
}
Result<QueueStats> stats_now(QueueService& s, std::string_view event) {
  return now<QueueStats>([&](Done<QueueStats> d) { s.stats(event, std::move(d)); });
}
Result<QueueStats> configure_now(QueueService& s, std::string_view event, std::optional<int> rate,
                                 std::optional<int> cap) {
  return now<QueueStats>([&](Done<QueueStats> d) { s.configure(event, rate, cap, std::move(d)); });
}
Result<Admission> redeem(QueueService& s, std::string_view token, std::string_view event, std::string_view user) {
  auto a = s.check_reservation_token(token, event, user);
  if (!a) return a;
  if (auto st = s.consume(*a); !st) return st.error();
  return a;
}

// The waiting room's contract, seen through the service: every QueueServiceTest runs against the
// in-memory room (embedded mode) and against the room in Redis (kv.backend = redis, a real server
// started by ctest's `redis` fixture), and must pass the same way on both.
enum class Backend { memory, redis };

std::unique_ptr<kv::Redis> redis_for(Backend b) {
  if (b == Backend::memory) return nullptr;
  auto server = test::redis_server();
  kv::RedisOptions o;
  o.port = server.port;
  o.password = server.password;
  return std::make_unique<kv::Redis>(o);
}

class QueueServiceFixture : public ::testing::Test {
 protected:
  explicit QueueServiceFixture(Backend backend = Backend::memory)
      : clock_(kT0),
        redis_(redis_for(backend)),
        prefix_(redis_ ? test::unique_redis_prefix() : std::string()),
        service_(inventory_, clock_, settings(), keys(), metrics_, nullptr, redis_.get(), prefix_) {}
  static Settings settings() {
    Settings s;
    s.waiting_token_ttl_ms = 3'600'000;
    return s;
  }
  static std::vector<auth::SigningKey> keys() { return {{"k1", std::string(32, 'k')}}; }

  // Joins as a user and walks through admission; returns the reservation token.
  std::string admitted(const std::string& user, const std::string& event = "evt_open") {
    auto j = join_now(service_, event, Subject{user, ""});
    EXPECT_TRUE(j.ok());
    advance(100);
    auto e = service_.enter(j->waiting_token, event);
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    return e.ok() ? e->reservation_token : std::string();
  }
  void advance(std::int64_t ms) {
    for (std::int64_t t = 0; t < ms; t += 20) {
      clock_.advance_ms(20);
      service_.tick();
    }
  }

  FakeInventory inventory_;
  ManualClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<kv::Redis> redis_;
  std::string prefix_;
  QueueService service_;
};

class QueueServiceTest : public QueueServiceFixture, public ::testing::WithParamInterface<Backend> {
 protected:
  QueueServiceTest() : QueueServiceFixture(GetParam()) {}
};

INSTANTIATE_TEST_SUITE_P(Backends, QueueServiceTest, ::testing::Values(Backend::memory, Backend::redis),
                         [](const ::testing::TestParamInfo<Backend>& p) {
                           return p.param == Backend::memory ? "memory" : "redis";
                         });

TEST_P(QueueServiceTest, JoinPollEnterAndRedeemOnce) {
  auto j = join_now(service_, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->status, "waiting");
  EXPECT_EQ(j->position, 0);
  auto before = service_.status(j->waiting_token, "");
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->ready_for_entry);
  EXPECT_EQ(service_.enter(j->waiting_token, "").error().code, Errc::not_ready);
  advance(100);
  auto after = service_.status(j->waiting_token, "evt_open");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, "ready");
  EXPECT_TRUE(after->ready_for_entry);
  auto e = service_.enter(j->waiting_token, "");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ttl_sec, 120);
  // Checking does not spend: the token can be checked again, then spent once.
  auto checked = service_.check_reservation_token(e->reservation_token, "evt_open", "usr_1");
  ASSERT_TRUE(checked.ok());
  ASSERT_TRUE(service_.check_reservation_token(e->reservation_token, "evt_open", "usr_1").ok());
  auto a = redeem(service_, e->reservation_token, "evt_open", "usr_1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->user_id, "usr_1");
  EXPECT_EQ(a->ticket, checked->ticket);
  EXPECT_EQ(redeem(service_, e->reservation_token, "evt_open", "usr_1").error().code, Errc::token_used);
  // An admission checked before another request spent the token cannot be spent again.
  auto late = service_.consume(*checked);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::token_used);
  EXPECT_EQ(service_.check_reservation_token(e->reservation_token, "evt_open", "usr_1").error().code, Errc::token_used);
}

TEST_P(QueueServiceTest, FansAreAdmittedInJoinOrderAndPositionsOnlyFall) {
  ASSERT_TRUE(configure_now(service_, "evt_open", 50, std::nullopt).ok());  // one admission per tick
  constexpr int kFans = 40;
  std::vector<std::string> tokens;
  for (int i = 0; i < kFans; ++i) {
    auto j = join_now(service_, "evt_open", Subject{"usr_" + std::to_string(i), ""});
    ASSERT_TRUE(j.ok());
    ASSERT_EQ(j->position, i);
    tokens.push_back(j->waiting_token);
  }
  std::vector<std::int64_t> last(kFans, kFans);
  int ready = 0;  // the fans admitted so far are always the first `ready` to join
  while (ready < kFans) {
    advance(20);
    int now_ready = 0;
    for (int i = 0; i < kFans; ++i) {
      auto s = service_.status(tokens[static_cast<std::size_t>(i)], "");
      ASSERT_TRUE(s.ok());
      if (s->ready_for_entry) {
        ASSERT_EQ(i, now_ready) << "fan " << i << " is ready before an earlier one";
        ++now_ready;
        continue;
      }
      ASSERT_TRUE(s->position.has_value());
      EXPECT_LE(*s->position, last[static_cast<std::size_t>(i)]) << "fan " << i << "'s position went up";
      last[static_cast<std::size_t>(i)] = *s->position;
    }
    ASSERT_GE(now_ready, ready);
    ready = now_ready;
  }
}

TEST_P(QueueServiceTest, APlaceThatStopsPollingIsAbandonedAndTheOnesBehindMoveUp) {
  ASSERT_TRUE(configure_now(service_, "evt_open", std::nullopt, 1).ok());
  auto buyer = join_now(service_, "evt_open", Subject{"usr_buyer", ""});  // takes the one slot
  auto quiet = join_now(service_, "evt_open", Subject{"usr_quiet", ""});
  auto keen = join_now(service_, "evt_open", Subject{"usr_keen", ""});
  ASSERT_TRUE(buyer.ok() && quiet.ok() && keen.ok());
  advance(20);  // the buyer is admitted; the quiet fan is next
  EXPECT_EQ(service_.status(keen->waiting_token, "")->position, 1);
  for (int i = 0; i < 70; ++i) {  // the keen fan polls every second; the quiet one never does
    clock_.advance_ms(1000);
    service_.tick();
    ASSERT_TRUE(service_.status(keen->waiting_token, "").ok());
  }
  auto gone = service_.status(quiet->waiting_token, "");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, "expired");
  EXPECT_EQ(gone->reason, "abandoned");
  EXPECT_EQ(service_.enter(quiet->waiting_token, "").error().code, Errc::place_lost);
  auto s = service_.status(keen->waiting_token, "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, "waiting");
  EXPECT_EQ(s->position, 0) << "the abandoned place no longer counts ahead";
  EXPECT_EQ(stats_now(service_, "evt_open")->room.abandoned_total, 1);
}

TEST_P(QueueServiceTest, AnAsynchronousPollAnswersAsTheSynchronousOne) {
  auto poll_async = [this](const std::string& token, const std::string& event = "") {
    std::promise<Result<StatusResult>> answered;
    service_.status_async(token, event, [&answered](Result<StatusResult> r) { answered.set_value(std::move(r)); });
    return answered.get_future().get();
  };
  ASSERT_TRUE(join_now(service_, "evt_open", Subject{"usr_0", ""}).ok());
  auto j = join_now(service_, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(j.ok());
  auto sync = service_.status(j->waiting_token, "");
  auto async = poll_async(j->waiting_token);
  ASSERT_TRUE(sync.ok() && async.ok());
  EXPECT_EQ(async->status, "waiting");
  EXPECT_EQ(async->position, sync->position);
  EXPECT_EQ(async->position, 1);
  EXPECT_EQ(async->event_id, "evt_open");
  EXPECT_EQ(async->eta_sec, sync->eta_sec);
  if (redis_) {
    // Another replica that has not met this room yet finds it first, then answers the same.
    QueueService replica(inventory_, clock_, settings(), keys(), metrics_, nullptr, redis_.get(), prefix_);
    std::promise<Result<StatusResult>> answered;
    replica.status_async(j->waiting_token, "",
                         [&answered](Result<StatusResult> r) { answered.set_value(std::move(r)); });
    auto there = answered.get_future().get();
    ASSERT_TRUE(there.ok()) << there.error().message;
    EXPECT_EQ(there->position, 1);
  }
  advance(100);
  auto ready = poll_async(j->waiting_token, "evt_open");
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready->ready_for_entry);
  // Refusals are the same too: a forged token, another event's, an expired one.
  std::string forged = j->waiting_token;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'x' ? 'y' : 'x';
  EXPECT_EQ(poll_async(forged).error().code, Errc::invalid_token);
  EXPECT_EQ(poll_async(j->waiting_token, "evt_later").error().code, Errc::not_in_queue);
  ASSERT_TRUE(service_.leave(j->waiting_token).ok());
  EXPECT_EQ(poll_async(j->waiting_token)->reason, "left");
  clock_.advance_ms(3'600'000);
  EXPECT_EQ(poll_async(j->waiting_token)->reason, "token_expired");
}

// A replica that has not met the room yet asks Redis for it. When Redis does not answer, the
// holder of a waiting or reservation token hears "try again" (UNAVAILABLE), not that the queue
// was reset, which would send them to the back of the line (CI saw a poll answered 410 while
// the replicas reconnected after a Redis restart).
TEST(QueueServiceShared, AReplicaThatCannotReachRedisSaysTryAgainNotJoinAgain) {
  ManualClock clock(kT0);
  FakeInventory inventory;
  metrics::Registry metrics_a, metrics_b;
  auto redis = redis_for(Backend::redis);
  kv::RedisOptions dead;
  dead.port = 9;  // nothing listens: every call fails at once
  dead.connect_timeout_ms = 200;
  dead.command_timeout_ms = 200;
  kv::Redis unreachable(dead);
  const auto prefix = test::unique_redis_prefix();
  Settings settings;
  settings.waiting_token_ttl_ms = 3'600'000;
  auto keys = std::vector<auth::SigningKey>{{"k1", std::string(32, 'k')}};
  QueueService a(inventory, clock, settings, keys, metrics_a, nullptr, redis.get(), prefix);
  QueueService b(inventory, clock, settings, keys, metrics_b, nullptr, &unreachable, prefix);
  auto j = join_now(a, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(j.ok()) << j.error().message;
  for (int i = 0; i < 5; ++i) {
    clock.advance_ms(20);
    a.tick();
  }
  auto polled = b.status(j->waiting_token, "evt_open");
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, Errc::unavailable) << polled.error().message;
  auto e = a.enter(j->waiting_token, "evt_open");
  ASSERT_TRUE(e.ok()) << e.error().message;
  auto checked = b.check_reservation_token(e->reservation_token, "evt_open", "usr_1");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, Errc::unavailable) << checked.error().message;
  EXPECT_TRUE(a.check_reservation_token(e->reservation_token, "evt_open", "usr_1").ok()) << "the entry still holds";
}

TEST_P(QueueServiceTest, JoiningTwiceKeepsThePlace) {
  auto a = join_now(service_, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(join_now(service_, "evt_open", Subject{"usr_2", ""}).ok());
  auto again = join_now(service_, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->position, 0);
  EXPECT_EQ(service_.status(again->waiting_token, "")->position, 0);
  EXPECT_EQ(stats_now(service_, "evt_open")->room.joined_total, 2);
  (void)a;
}

TEST_P(QueueServiceTest, UnknownEventIsNotFound) {
  EXPECT_EQ(join_now(service_, "evt_nope", Subject{"usr_1", ""}).error().code, Errc::not_found);
}

TEST_P(QueueServiceTest, RejectsForgedExpiredAndOtherEventTokens) {
  auto j = join_now(service_, "evt_open", Subject{"", "cid_abcdefgh"});
  ASSERT_TRUE(j.ok());
  std::string forged = j->waiting_token;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'x' ? 'y' : 'x';
  EXPECT_EQ(service_.status(forged, "").error().code, Errc::invalid_token);
  QueueService other(inventory_, clock_, settings(), {{"k1", std::string(32, 'z')}}, metrics_);
  auto other_key = join_now(other, "evt_open", Subject{"usr_9", ""});
  EXPECT_EQ(service_.status(other_key->waiting_token, "").error().code, Errc::invalid_token);
  EXPECT_EQ(service_.status(j->waiting_token, "evt_later").error().code, Errc::not_in_queue);
  EXPECT_EQ(service_.status("", "").error().code, Errc::invalid_token);
  clock_.advance_ms(3'600'000);
  auto expired = service_.status(j->waiting_token, "");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->status, "expired");
  EXPECT_EQ(expired->reason, "token_expired");
}

TEST_P(QueueServiceTest, ReservationTokenIsBoundToEventUserAndTime) {
  auto token = admitted("usr_1");
  EXPECT_EQ(redeem(service_, token, "evt_later", "usr_1").error().code, Errc::reservation_token_wrong_event);
  EXPECT_EQ(redeem(service_, token, "evt_open", "usr_2").error().code, Errc::reservation_token_wrong_user);
  EXPECT_EQ(redeem(service_, "rt1.k1.bogus.bogus", "evt_open", "usr_1").error().code, Errc::reservation_token_invalid);
  clock_.advance_ms(121'000);
  EXPECT_EQ(redeem(service_, token, "evt_open", "usr_1").error().code, Errc::reservation_token_expired);
}

TEST_P(QueueServiceTest, AnonymousAdmissionCanBeRedeemedOnceByWhoeverSignsIn) {
  auto j = join_now(service_, "evt_open", Subject{"", "cid_anonymous1"});
  advance(100);
  auto e = service_.enter(j->waiting_token, "");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(redeem(service_, e->reservation_token, "evt_open", "usr_late").ok());
  EXPECT_EQ(redeem(service_, e->reservation_token, "evt_open", "usr_other").error().code, Errc::token_used);
}

TEST_P(QueueServiceTest, ExactlyOneOfManyConcurrentRedemptionsWins) {
  for (int round = 0; round < 20; ++round) {
    auto token = admitted("usr_race_" + std::to_string(round));
    std::atomic<int> wins{0}, used{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&] {
        auto r = redeem(service_, token, "evt_open", "usr_race_" + std::to_string(round));
        if (r.ok())
          ++wins;
        else if (r.error().code == Errc::token_used)
          ++used;
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(wins.load(), 1);
    ASSERT_EQ(used.load(), 15);
  }
}

TEST_P(QueueServiceTest, FinishedBuyersFreeTheCap) {
  ASSERT_TRUE(configure_now(service_, "evt_open", std::nullopt, 1).ok());
  auto first = join_now(service_, "evt_open", Subject{"usr_1", ""});
  auto second = join_now(service_, "evt_open", Subject{"usr_2", ""});
  advance(200);
  EXPECT_TRUE(service_.status(first->waiting_token, "")->ready_for_entry);
  EXPECT_FALSE(service_.status(second->waiting_token, "")->ready_for_entry);
  auto e = service_.enter(first->waiting_token, "");
  auto a = redeem(service_, e->reservation_token, "evt_open", "usr_1");
  ASSERT_TRUE(a.ok());
  service_.buyer_finished(a->event_id, a->ticket);
  advance(200);
  EXPECT_TRUE(service_.status(second->waiting_token, "")->ready_for_entry);
}

TEST_P(QueueServiceTest, LeavingLosesThePlace) {
  auto j = join_now(service_, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(service_.leave(j->waiting_token).ok());
  auto s = service_.status(j->waiting_token, "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, "expired");
  EXPECT_EQ(s->reason, "left");
  EXPECT_FALSE(s->ready_for_entry);
  EXPECT_EQ(service_.enter(j->waiting_token, "").error().code, Errc::place_lost);
  EXPECT_TRUE(service_.leave(j->waiting_token).ok());  // leaving twice is harmless
}

TEST_P(QueueServiceTest, PreQueueHasNoPositionUntilOpening) {
  auto j = join_now(service_, "evt_later", Subject{"usr_1", ""});
  ASSERT_TRUE(j.ok());
  auto s = service_.status(j->waiting_token, "");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->position.has_value());
  ASSERT_TRUE(s->opens_in_sec.has_value());
  EXPECT_EQ(*s->opens_in_sec, 60);
  for (int i = 0; i < 61; ++i) {  // keep polling so the place is not abandoned
    clock_.advance_ms(1000);
    service_.tick();
    ASSERT_TRUE(service_.status(j->waiting_token, "").ok());
  }
  s = service_.status(j->waiting_token, "");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->ready_for_entry);
}

TEST_P(QueueServiceTest, AdminChangesArePersistedThroughInventory) {
  auto s = configure_now(service_, "evt_open", 250, 40);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->admission_rate, 250);
  EXPECT_EQ(s->active_buyer_cap, 40);
  EXPECT_EQ(inventory_.last_rate, 250);
  EXPECT_EQ(inventory_.last_cap, 40);
}

TEST_P(QueueServiceTest, WaitingTimeComesFromTheToken) {
  auto j = join_now(service_, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(configure_now(service_, "evt_open", std::nullopt, 1).ok());
  ASSERT_TRUE(join_now(service_, "evt_open", Subject{"usr_0", ""}).ok());
  clock_.advance_ms(7000);
  auto s = service_.status(j->waiting_token, "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->waiting_time_sec, 7);
}

}  // namespace
}  // namespace tacos::queue

namespace tacos::queue {
namespace {

/// Rooms and places kept in memory as a store would keep them; can be told to fail.
class FakeQueueStore final : public store::QueueStateStore {
 public:
  std::vector<store::StoredQueue> load_queues() override {
    std::vector<store::StoredQueue> out;
    for (const auto& [id, r] : rooms) {
      store::StoredQueue q;
      q.room = r;
      for (const auto& [key, p] : places) {
        if (key.first == id) q.places.push_back(p);
      }
      q.uses = uses;
      out.push_back(std::move(q));
    }
    return out;
  }
  void save_queues(const std::vector<store::QueueRoomRecord>& rs,
                   const std::vector<store::QueuePlaceRecord>& ps) override {
    ++saves;
    if (fail) throw store::StoreError("disk full");
    for (const auto& r : rs) rooms[r.event_id] = r;
    for (const auto& p : ps) places[{p.event_id, p.ticket}] = p;
  }
  std::map<std::string, store::QueueRoomRecord> rooms;
  std::map<std::pair<std::string, std::string>, store::QueuePlaceRecord> places;
  std::vector<store::QueueTicketUse> uses;
  bool fail = false;
  int saves = 0;
};

class StoredQueueServiceTest : public QueueServiceFixture {
 protected:
  std::unique_ptr<QueueService> stored_service() {
    return std::make_unique<QueueService>(inventory_, clock_, settings(), keys(), metrics_, &store_);
  }
  FakeQueueStore store_;
};

TEST_F(StoredQueueServiceTest, AJoinIsAnsweredOnlyOnceItsPlaceIsStored) {
  auto svc = stored_service();
  std::optional<Result<JoinResult>> answer;
  svc->join("evt_open", Subject{"usr_1", ""}, [&](Result<JoinResult> r) { answer = std::move(r); });
  EXPECT_FALSE(answer.has_value());
  svc->flush();
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok());
  EXPECT_EQ(store_.rooms.at("evt_open").seq_issued, 1);
}

TEST_F(StoredQueueServiceTest, AFailedStoreAnswersUnavailableAndRetriesTheChanges) {
  auto svc = stored_service();
  auto first = join_now(*svc, "evt_open", Subject{"usr_1", ""});
  ASSERT_TRUE(first.ok());
  store_.fail = true;
  std::optional<Result<JoinResult>> answer;
  svc->join("evt_open", Subject{"usr_2", ""}, [&](Result<JoinResult> r) { answer = std::move(r); });
  ASSERT_TRUE(svc->leave(first->waiting_token).ok());
  svc->flush();
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(answer->ok());
  EXPECT_EQ(answer->error().code, Errc::unavailable);
  EXPECT_TRUE(store_.places.empty());
  store_.fail = false;
  svc->flush();  // the leave that could not be stored is stored now
  EXPECT_EQ(store_.places.size(), 1u);
  EXPECT_EQ(store_.places.begin()->second.state, "left");
}

TEST_F(StoredQueueServiceTest, ARestartedServiceKnowsEveryPlaceAndToken) {
  std::string waiting, entered_token, spent_token;
  Result<JoinResult> behind = Error(Errc::internal, "");
  {
    auto svc = stored_service();
    ASSERT_TRUE(configure_now(*svc, "evt_open", std::nullopt, 2).ok());
    auto a = join_now(*svc, "evt_open", Subject{"usr_a", ""});
    auto b = join_now(*svc, "evt_open", Subject{"usr_b", ""});
    behind = join_now(*svc, "evt_open", Subject{"usr_c", ""});
    for (int i = 0; i < 5; ++i) {
      clock_.advance_ms(20);
      svc->tick();
      svc->flush();
    }
    entered_token = svc->enter(a->waiting_token, "")->reservation_token;
    spent_token = svc->enter(b->waiting_token, "")->reservation_token;
    auto spent = redeem(*svc, spent_token, "evt_open", "usr_b");
    ASSERT_TRUE(spent.ok());
    store_.uses.push_back({spent->ticket, true, clock_.now_ms()});  // what the hold's reservation stores
    svc->flush();
    EXPECT_EQ(*svc->status(behind->waiting_token, "")->position, 0);
  }  // the process ends without any goodbye: only what was stored is left
  auto svc = stored_service();
  EXPECT_EQ(svc->restore(), 1u);
  auto s = svc->status(behind->waiting_token, "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, "waiting");
  EXPECT_EQ(*s->position, 0);
  EXPECT_TRUE(redeem(*svc, entered_token, "evt_open", "usr_a").ok());
  EXPECT_EQ(redeem(*svc, spent_token, "evt_open", "usr_b").error().code, Errc::token_used);
  EXPECT_EQ(stats_now(*svc, "evt_open")->room.active_buyers, 2);
}

}  // namespace
}  // namespace tacos::queue

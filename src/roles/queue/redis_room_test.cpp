// The waiting room in Redis against a real server, seen from several replicas (each its own
// client): arrival order, the pre-queue shuffle, positions that never increase, abandonment and
// lapses, the active-buyer cap, one ticker at a time, and an entry used exactly once. Time is the
// caller's (now_ms is passed in), so hours of a sale run in milliseconds; only the ticker's lease
// runs on Redis's clock.

#include "roles/queue/redis_room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "support/redis.hpp"

namespace tacos::queue {
namespace {

using domain::PlaceState;
using domain::Ticket;
using Place = RedisRoom::Place;

constexpr std::int64_t kT0 = 1'000'000;  // the sale opens here (ms)

class RedisRoomTest : public ::testing::Test {
 protected:
  RedisRoomTest() {
    auto s = test::redis_server();
    kv::RedisOptions o;
    o.port = s.port;
    o.password = s.password;
    for (int i = 0; i < 3; ++i) clients_.push_back(std::make_unique<kv::Redis>(o));
    settings_.sale_starts_at_ms = kT0;
    settings_.created_ms = 0;
    settings_.shuffle_seed = 12345;
    settings_.room.admission_rate = 1000;
    settings_.room.active_buyer_cap = 1'000'000;
  }
  /// Replica i's view of the room.
  RedisRoom& room(int i = 0) {
    while (rooms_.size() < clients_.size()) {
      rooms_.push_back(std::make_unique<RedisRoom>(*clients_[rooms_.size()], prefix_, "evt_room", settings_));
    }
    return *rooms_[static_cast<std::size_t>(i)];
  }
  Place join(std::uint64_t user, std::int64_t now, int replica = 0) {
    auto j = room(replica).join(user, now);
    EXPECT_TRUE(j.ok()) << j.error().message;
    return j ? Place{j->epoch, j->joined.ticket} : Place{};
  }
  domain::WaitingRoom::View poll(Place t, std::int64_t now, int replica = 0) {
    auto v = room(replica).poll(t, now);
    EXPECT_TRUE(v.ok() && v->has_value()) << (v ? "no such place" : v.error().message);
    return v && *v ? **v : domain::WaitingRoom::View{};
  }
  void tick(std::int64_t now, int replica = 0) {
    auto r = room(replica).tick("replica-" + std::to_string(replica), now, 5000);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(*r) << "replica " << replica << " does not hold the ticker lease";
  }

  RedisRoomSettings settings_;
  std::string prefix_ = test::unique_redis_prefix();
  std::vector<std::unique_ptr<kv::Redis>> clients_;
  std::vector<std::unique_ptr<RedisRoom>> rooms_;
};

TEST_F(RedisRoomTest, JoinsThroughThreeReplicasAreAdmittedInExactlyTheirOrder) {
  constexpr int kUsers = 5000;
  std::vector<Place> tickets(kUsers);
  std::vector<std::thread> replicas;
  for (int r = 0; r < 3; ++r) {  // users r, r + 3, ... through replica r, all at once
    room(r);
    replicas.emplace_back([&, r] {
      for (int u = r; u < kUsers; u += 3) tickets[u] = join(static_cast<std::uint64_t>(u + 1), kT0 + 1, r);
    });
  }
  for (auto& t : replicas) t.join();
  std::set<std::uint32_t> seqs;
  for (const auto& t : tickets) {
    EXPECT_FALSE(t.ticket.pre);
    seqs.insert(t.ticket.index);
  }
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kUsers)) << "one place each";
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), static_cast<std::uint32_t>(kUsers)) << "no gaps";
  // 1,000 a second: 100 per 100 ms tick. After each tick exactly the lowest seqs are ready.
  std::int64_t now = kT0 + 1;
  for (int k = 1; k <= 5; ++k) {
    now += 100;
    tick(now);
    for (const auto& t : tickets) {
      auto v = poll(t, now, static_cast<int>(t.ticket.index % 3));
      bool admitted = t.ticket.index <= static_cast<std::uint32_t>(100 * k);
      EXPECT_EQ(v.state, admitted ? PlaceState::ready : PlaceState::waiting)
          << "seq " << t.ticket.index << " tick " << k;
      if (!admitted) {
        EXPECT_EQ(v.position, static_cast<std::int64_t>(t.ticket.index) - 100 * k - 1);
      }
    }
  }
  auto stats = room().stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->joined_total, kUsers);
  EXPECT_EQ(stats->admitted_total, 500);
  EXPECT_EQ(stats->waiting, kUsers - 500);
}

TEST_F(RedisRoomTest, TheNextPlaceInLineIsDatedToTheSecondItJoined) {
  settings_.room.admission_rate = 1;
  for (std::uint64_t u = 1; u <= 3; ++u) join(u, kT0 - 5'000);  // the pre-queue: dated from the opening
  auto next_arrived = [this] {
    auto s = room().stats();
    EXPECT_TRUE(s.ok());
    return s ? s->next_arrived_ms : -1;
  };
  EXPECT_EQ(next_arrived(), 0) << "nobody waits in an open line yet";
  tick(kT0);
  join(10, kT0 + 4'100);  // seqs 4 and 5 in one second, seq 6 later
  join(11, kT0 + 4'200);
  join(12, kT0 + 9'500);
  std::vector<std::int64_t> seen;
  for (std::int64_t now = kT0; now <= kT0 + 12'000; now += 100) {
    tick(now);
    seen.push_back(next_arrived());
  }
  EXPECT_EQ(seen.front(), kT0) << "the pre-queue waits from the opening";
  EXPECT_NE(std::find(seen.begin(), seen.end(), kT0 + 4'100), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), kT0 + 9'500), seen.end());
  std::vector<std::int64_t> dated;
  std::copy_if(seen.begin(), seen.end(), std::back_inserter(dated), [](std::int64_t ms) { return ms != 0; });
  EXPECT_TRUE(std::is_sorted(dated.begin(), dated.end())) << "the head of the line only gets younger";
  EXPECT_EQ(seen.back(), 0) << "nobody waits";
  auto kept = clients_[0]->call({"ZCARD", prefix_ + "{evt_room}:arr"});
  ASSERT_TRUE(kept.ok());
  EXPECT_LE(kept->integer, 1) << "dates behind the line are trimmed";
}

TEST_F(RedisRoomTest, ThePreQueueIsShuffledAtTheOpeningAheadOfLaterArrivals) {
  std::vector<Place> early;
  for (std::uint64_t u = 1; u <= 200; ++u) early.push_back(join(u, kT0 - 1000, static_cast<int>(u % 3)));
  for (const auto& t : early) EXPECT_TRUE(t.ticket.pre);
  auto before = poll(early[0], kT0 - 500);
  EXPECT_EQ(before.state, PlaceState::waiting);
  EXPECT_FALSE(before.position.has_value()) << "no position before the opening";
  EXPECT_TRUE(room().leave(early[5], kT0 - 400).ok());
  tick(kT0);
  auto late = join(1000, kT0 + 1);
  EXPECT_EQ(late.ticket.index, 201u) << "after every early arrival";
  std::vector<std::int64_t> positions;
  for (std::size_t i = 0; i < early.size(); ++i) {
    if (i == 5) {
      EXPECT_EQ(poll(early[i], kT0 + 1).state, PlaceState::left);
      continue;
    }
    auto v = poll(early[i], kT0 + 1);
    ASSERT_TRUE(v.position.has_value());
    positions.push_back(*v.position);
  }
  auto sorted = positions;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], static_cast<std::int64_t>(i));
  EXPECT_NE(positions, sorted) << "the early arrivals were not shuffled";
  EXPECT_EQ(poll(late, kT0 + 1).position, 199) << "199 early places still wait ahead";
}

TEST_F(RedisRoomTest, ALargePreQueueOpensIntoAShuffledOrderUnrelatedToJoinOrder) {
  settings_.room.admission_rate = 100;  // one admission in the 10 ms after the opening
  constexpr int kEarly = 5000;
  std::vector<Place> early;
  for (int u = 0; u < kEarly; ++u) early.push_back(join(static_cast<std::uint64_t>(u) + 1, kT0 - 1000, u % 3));
  std::vector<int> left;  // every 10th leaves before the opening
  for (int u = 0; u < kEarly; u += 10) {
    ASSERT_TRUE(room().leave(early[static_cast<std::size_t>(u)], kT0 - 500).ok());
    left.push_back(u);
  }
  tick(kT0);
  tick(kT0);  // the places that left are counted out a slice (4096) per tick after the opening
  const int waiting = kEarly - static_cast<int>(left.size());
  std::vector<std::int64_t> positions;
  double sum_xy = 0, sum_x = 0, sum_y = 0, sum_xx = 0, sum_yy = 0;
  for (int u = 0; u < kEarly; ++u) {
    if (u % 10 == 0) continue;
    auto v = poll(early[static_cast<std::size_t>(u)], kT0 + 1);
    ASSERT_EQ(v.state, PlaceState::waiting);
    ASSERT_TRUE(v.position.has_value());
    positions.push_back(*v.position);
    double x = u, y = static_cast<double>(*v.position);
    sum_x += x, sum_y += y, sum_xy += x * y, sum_xx += x * x, sum_yy += y * y;
  }
  // The places that left were counted out at the opening: the rest hold positions 0..waiting-1.
  auto sorted = positions;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < waiting; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i);
  const double n = waiting;
  const double r =
      (n * sum_xy - sum_x * sum_y) / std::sqrt((n * sum_xx - sum_x * sum_x) * (n * sum_yy - sum_y * sum_y));
  EXPECT_LT(std::abs(r), 0.05) << "join order and place in line are correlated (r = " << r << ")";
  // Admission follows the shuffled order: the first admitted is whoever holds position 0.
  auto first = std::find(positions.begin(), positions.end(), 0) - positions.begin();
  tick(kT0 + 10);
  int admitted = 0;
  for (int u = 0, k = 0; u < kEarly; ++u) {
    if (u % 10 == 0) continue;
    if (poll(early[static_cast<std::size_t>(u)], kT0 + 11).state == PlaceState::ready) {
      ++admitted;
      EXPECT_EQ(k, first);
    }
    ++k;
  }
  EXPECT_EQ(admitted, 1);
}

TEST_F(RedisRoomTest, APreQueueMostlyGoneBeforeTheOpeningCountsEveryDepartureOut) {
  // The first 4,100 leave: a whole slice of departures, more than one ZADD call can take.
  constexpr int kEarly = 4200, kStay = 100;
  std::vector<Place> early;
  for (int u = 0; u < kEarly; ++u) early.push_back(join(static_cast<std::uint64_t>(u) + 1, kT0 - 1000));
  for (int u = 0; u < kEarly - kStay; ++u) {
    ASSERT_TRUE(room().leave(early[static_cast<std::size_t>(u)], kT0 - 500).ok());
  }
  tick(kT0);
  tick(kT0);
  std::vector<std::int64_t> positions;
  for (int u = kEarly - kStay; u < kEarly; ++u) {
    positions.push_back(*poll(early[static_cast<std::size_t>(u)], kT0 + 1).position);
  }
  std::sort(positions.begin(), positions.end());
  for (int i = 0; i < kStay; ++i) EXPECT_EQ(positions[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(room().stats()->waiting, kStay);
}

TEST_F(RedisRoomTest, PositionsNeverIncreaseWhilePlacesLeaveAbandonAndAreAdmitted) {
  settings_.room.admission_rate = 20;
  settings_.room.abandon_after_ms = 3000;
  std::vector<Place> tickets;
  for (std::uint64_t u = 1; u <= 300; ++u) tickets.push_back(join(u, kT0 + 1, static_cast<int>(u % 3)));
  std::map<std::uint32_t, std::int64_t> last;
  std::mt19937 rng(7);
  std::int64_t now = kT0 + 1;
  for (int step = 0; step < 40; ++step) {
    now += 250;
    for (int n = 0; n < 3; ++n) {  // a few leave
      (void)room(n).leave(tickets[rng() % tickets.size()], now);
    }
    tick(now);
    for (const auto& t : tickets) {
      if (t.ticket.index % 7 == 0) continue;  // these stop polling: abandoned after 3 s
      auto v = poll(t, now, static_cast<int>(rng() % 3));
      if (v.state != PlaceState::waiting) continue;
      ASSERT_TRUE(v.position.has_value());
      auto it = last.find(t.ticket.index);
      if (it != last.end()) {
        EXPECT_LE(*v.position, it->second) << "seq " << t.ticket.index << " went back";
      }
      last[t.ticket.index] = *v.position;
    }
  }
  auto stats = room().stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->abandoned_total, 0);
  EXPECT_GT(stats->left_total, 0);
  EXPECT_GT(stats->admitted_total, 0);
  // Every waiting place's position is the number of waiting places ahead of it.
  std::vector<std::uint32_t> waiting;
  for (const auto& t : tickets)
    if (room().poll(t, now)->value().state == PlaceState::waiting) waiting.push_back(t.ticket.index);
  std::sort(waiting.begin(), waiting.end());
  for (std::size_t i = 0; i < waiting.size(); ++i)
    EXPECT_EQ(poll(Place{tickets[0].epoch, Ticket{false, waiting[i]}}, now).position, static_cast<std::int64_t>(i));
}

TEST_F(RedisRoomTest, TheCapHoldsAndLapsesAndFinishesFreeItsSlots) {
  settings_.room.active_buyer_cap = 2;
  settings_.room.entry_window_ms = 1000;
  settings_.room.reservation_ttl_ms = 1000;
  settings_.room.buyer_timeout_ms = 1000;
  std::vector<Place> t;
  for (std::uint64_t u = 1; u <= 5; ++u) t.push_back(join(u, kT0 + 1));
  tick(kT0 + 1000);
  EXPECT_EQ(poll(t[0], kT0 + 1000).state, PlaceState::ready);
  EXPECT_EQ(poll(t[1], kT0 + 1000).state, PlaceState::ready);
  EXPECT_EQ(poll(t[2], kT0 + 1000).state, PlaceState::waiting) << "the cap is 2";
  ASSERT_TRUE(room(1).enter(t[0], kT0 + 1100).ok());
  ASSERT_TRUE(room(2).consume(t[0], kT0 + 1200).ok());
  ASSERT_TRUE(room(0).finish(t[0]).ok());  // bought: a slot is free
  tick(kT0 + 1300);
  EXPECT_EQ(poll(t[2], kT0 + 1300).state, PlaceState::ready);
  // t[1] never entered: its admission lapses after 1 s and t[3] takes the slot.
  tick(kT0 + 2100);
  EXPECT_EQ(poll(t[1], kT0 + 2100).state, PlaceState::lapsed);
  EXPECT_EQ(poll(t[3], kT0 + 2100).state, PlaceState::ready);
  auto e = room().enter(t[1], kT0 + 2100);
  EXPECT_EQ(e.error().code, Errc::place_lost);
  auto stats = room().stats();
  EXPECT_EQ(stats->active_buyers, 2);
  EXPECT_EQ(stats->lapsed_total, 1);
  EXPECT_EQ(stats->finished_total, 1);
}

TEST_F(RedisRoomTest, AnEntryIsUsedExactlyOnceAcrossReplicas) {
  auto t = join(1, kT0 + 1);
  EXPECT_EQ(room().enter(t, kT0 + 2).error().code, Errc::not_ready);
  tick(kT0 + 1000);
  ASSERT_TRUE(room(1).enter(t, kT0 + 1001).ok());
  std::atomic<int> used{0}, refused{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      auto st = room(r).consume(t, kT0 + 1002);
      if (st.ok()) {
        ++used;
      } else if (st.error().code == Errc::token_used) {
        ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(used.load(), 1);
  EXPECT_EQ(refused.load(), 2);
  auto again = room(2).join(1, kT0 + 1003);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->joined.existing) << "a place whose entry was used gets a new one";
  EXPECT_NE(again->joined.ticket.index, t.ticket.index);
}

TEST_F(RedisRoomTest, OneReplicaTicksAtATimeAndAnotherTakesOverWhenItsLeaseRunsOut) {
  for (std::uint64_t u = 1; u <= 10; ++u) join(u, kT0 + 1);
  ASSERT_TRUE(room(0).tick("a", kT0 + 10, 300).value());
  EXPECT_FALSE(room(1).tick("b", kT0 + 20, 300).value()) << "a holds the lease";
  EXPECT_TRUE(room(0).tick("a", kT0 + 30, 300).value()) << "its holder renews it";
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // a dies: nobody renews
  EXPECT_TRUE(room(1).tick("b", kT0 + 40, 300).value()) << "b takes over";
  EXPECT_FALSE(room(0).tick("a", kT0 + 50, 300).value());
}

TEST_F(RedisRoomTest, JoiningAgainKeepsThePlaceAndLeavingGivesANewOne) {
  auto first = join(42, kT0 + 1);
  auto again = room(2).join(42, kT0 + 2);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->joined.existing);
  EXPECT_EQ(again->joined.ticket, first.ticket);
  ASSERT_TRUE(room(1).leave(first, kT0 + 3).ok());
  EXPECT_EQ(poll(first, kT0 + 4).state, PlaceState::left);
  auto fresh = room().join(42, kT0 + 5);
  EXPECT_FALSE(fresh->joined.existing);
  EXPECT_NE(fresh->joined.ticket, first.ticket);
  auto none = room().poll(Place{first.epoch, Ticket{false, 9999}}, kT0 + 6);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(RedisRoomTest, ARoomRedisLostIsMadeAgainWithAnotherEpochSoOldTokensNameNothing) {
  auto before = join(1, kT0 + 1);
  join(2, kT0 + 1);
  for (const char* key : {"meta", "users", "st", "pst", "seen", "gone", "dl", "preseq", "lease"})
    ASSERT_TRUE(clients_[0]->call({"DEL", prefix_ + "{evt_room}:" + key}).ok());
  auto after = join(3, kT0 + 2, 1);  // made again: seq 1 is handed out anew
  EXPECT_EQ(after.ticket.index, before.ticket.index);
  EXPECT_NE(after.epoch, before.epoch);
  auto old = room(2).poll(before, kT0 + 3);
  ASSERT_FALSE(old.ok()) << "the old token must not read the new seq 1";
  EXPECT_EQ(old.error().code, Errc::place_lost);
  EXPECT_EQ(room().enter(before, kT0 + 3).error().code, Errc::place_lost);
  EXPECT_EQ(room().consume(before, kT0 + 3).error().code, Errc::not_in_queue);
  EXPECT_TRUE(room().leave(before, kT0 + 3).ok());
  EXPECT_EQ(poll(after, kT0 + 3).state, PlaceState::waiting) << "the new place is untouched";
}

}  // namespace
}  // namespace tacos::queue

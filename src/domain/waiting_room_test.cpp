#include "domain/waiting_room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <set>

namespace tacos::domain {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

WaitingRoomSettings fast(double rate = 1000, std::int64_t cap = 1'000'000) {
  WaitingRoomSettings s;
  s.admission_rate = rate;
  s.active_buyer_cap = cap;
  return s;
}

// Joins n users (keys base..base+n-1) at `now`, returning their tickets in join order.
std::vector<Ticket> join_many(WaitingRoom& room, int n, std::int64_t now, std::uint64_t base = 1) {
  std::vector<Ticket> out;
  for (int i = 0; i < n; ++i) out.push_back(room.join(base + static_cast<std::uint64_t>(i), now).ticket);
  return out;
}

TEST(WaitingRoom, AdmitsInStrictArrivalOrder) {
  WaitingRoom room(fast(500), kT0, kT0, 1);
  auto tickets = join_many(room, 5000, kT0);
  for (std::size_t i = 0; i < tickets.size(); ++i) ASSERT_EQ(tickets[i].index, i + 1);  // seq = arrival order
  std::int64_t now = kT0;
  for (int step = 0; step < 300; ++step) {
    now += 20;
    room.tick(now);
    // Everyone admitted so far arrived before everyone still waiting.
    std::uint32_t last_admitted = 0, first_waiting = UINT32_MAX;
    for (const auto& t : tickets) {
      auto v = room.peek(t);
      if (v->state == PlaceState::ready) last_admitted = std::max(last_admitted, t.index);
      if (v->state == PlaceState::waiting) first_waiting = std::min(first_waiting, t.index);
    }
    ASSERT_LT(last_admitted, first_waiting);
  }
  EXPECT_NEAR(static_cast<double>(room.stats().admitted_total), 3000.0, 20.0);  // 6 s at 500/s
}

TEST(WaitingRoom, OneUserHoldsOnePlace) {
  WaitingRoom room(fast(), kT0, kT0, 1);
  auto a = room.join(42, kT0);
  auto b = room.join(42, kT0 + 5);
  EXPECT_FALSE(a.existing);
  EXPECT_TRUE(b.existing);
  EXPECT_EQ(a.ticket, b.ticket);
  EXPECT_EQ(room.stats().joined_total, 1);
}

TEST(WaitingRoom, ShufflesThePreQueueAheadOfLaterArrivals) {
  const std::int64_t open_at = kT0 + 10'000;
  WaitingRoom room(fast(1), open_at, kT0, 12345);
  auto early = join_many(room, 1000, kT0 + 1000);
  for (const auto& t : early) {
    EXPECT_TRUE(t.pre);
    auto v = room.poll(t, kT0 + 2000);
    ASSERT_TRUE(v.has_value());
    EXPECT_FALSE(v->position.has_value());  // no position before the draw
  }
  room.tick(open_at);
  ASSERT_TRUE(room.open());
  auto late = join_many(room, 1000, open_at + 1, 100'000);
  std::vector<std::int64_t> early_positions;
  for (const auto& t : early) {
    auto v = room.peek(t);
    ASSERT_TRUE(v && v->position);
    early_positions.push_back(*v->position);
  }
  for (const auto& t : late) {
    auto v = room.peek(t);
    ASSERT_TRUE(v && v->position);
    EXPECT_GE(*v->position, 999);  // behind every early arrival still waiting
  }
  // Among the early arrivals the positions are a permutation of 0..999, and not the join order.
  auto sorted = early_positions;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], static_cast<std::int64_t>(i));
  int in_place = 0;
  for (std::size_t i = 0; i < early_positions.size(); ++i)
    in_place += early_positions[i] == static_cast<std::int64_t>(i);
  EXPECT_LT(in_place, 20);  // a random permutation fixes about one
}

TEST(WaitingRoom, PositionNeverIncreases) {
  WaitingRoomSettings settings = fast(50);
  settings.abandon_after_ms = 5'000;
  WaitingRoom room(settings, kT0, kT0, 9);
  std::mt19937 rng(3);
  std::vector<Ticket> tickets;
  std::map<std::uint32_t, std::int64_t> last_position;
  std::int64_t now = kT0;
  std::uint64_t next_user = 1;
  for (int step = 0; step < 2000; ++step) {
    now += 10;
    int joins = std::uniform_int_distribution<int>(0, 3)(rng);
    for (int j = 0; j < joins; ++j) tickets.push_back(room.join(next_user++, now).ticket);
    if (!tickets.empty() && std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
      room.leave(tickets[std::uniform_int_distribution<std::size_t>(0, tickets.size() - 1)(rng)], now);
    }
    room.tick(now);
    for (const auto& t : tickets) {
      // Only some users poll, so some are abandoned along the way.
      auto v = (t.index % 7 == 0) ? room.peek(t) : room.poll(t, now);
      if (!v || !v->position) continue;
      auto it = last_position.find(t.index);
      if (it != last_position.end()) {
        ASSERT_LE(*v->position, it->second) << "seq " << t.index;
      }
      last_position[t.index] = *v->position;
    }
  }
  EXPECT_GT(room.stats().abandoned_total, 0);
  EXPECT_GT(room.stats().left_total, 0);
}

TEST(WaitingRoom, AbandonedPlacesReleasePeopleBehindAndDoNotBlockAdmission) {
  WaitingRoomSettings s = fast(1);
  s.abandon_after_ms = 60'000;
  WaitingRoom room(s, kT0, kT0, 1);
  room.set_active_buyer_cap(1);
  auto first = room.join(1, kT0).ticket;  // will be admitted and stay an active buyer
  auto gone = room.join(2, kT0).ticket;   // stops polling
  auto fan = room.join(3, kT0).ticket;    // keeps polling
  room.tick(kT0 + 1000);
  EXPECT_EQ(room.peek(first)->state, PlaceState::ready);
  EXPECT_EQ(*room.poll(fan, kT0 + 1000)->position, 1);
  std::int64_t now = kT0 + 1000;
  while (now < kT0 + 63'000) {
    now += 1000;
    room.poll(fan, now);
    room.tick(now);
  }
  EXPECT_EQ(room.peek(gone)->state, PlaceState::abandoned);
  EXPECT_EQ(*room.poll(fan, now)->position, 0);
  room.finish(first);  // frees the cap
  room.tick(now + 1000);
  EXPECT_EQ(room.peek(fan)->state, PlaceState::ready);  // the abandoned place was skipped for free
  EXPECT_EQ(room.stats().admitted_total, 2);
}

TEST(WaitingRoom, AdmitsAtTheConfiguredRate) {
  WaitingRoom room(fast(10), kT0, kT0, 1);
  join_many(room, 100, kT0);
  std::int64_t now = kT0;
  for (int i = 0; i < 250; ++i) room.tick(now += 20);  // 5 s
  EXPECT_NEAR(static_cast<double>(room.stats().admitted_total), 50.0, 2.0);
  room.set_admission_rate(40);
  for (int i = 0; i < 50; ++i) room.tick(now += 20);  // 1 s more
  EXPECT_NEAR(static_cast<double>(room.stats().admitted_total), 90.0, 3.0);
}

TEST(WaitingRoom, TheNextPlaceInLineIsDatedToTheSecondItJoined) {
  const std::int64_t open_at = kT0 + 10'000;
  WaitingRoom room(fast(1), open_at, kT0, 1);
  join_many(room, 3, kT0 + 2'000);  // the pre-queue: dated from the opening
  EXPECT_EQ(room.stats().next_arrived_ms, 0) << "nobody waits in an open line yet";
  room.tick(open_at);
  join_many(room, 2, open_at + 4'100, 100);  // seqs 4 and 5
  join_many(room, 1, open_at + 9'500, 200);  // seq 6
  // One admission per second: seqs 1..3 (the opening), then 4 and 5 (4.1 s), then 6 (9.5 s).
  std::vector<std::int64_t> seen;
  for (std::int64_t now = open_at; now <= open_at + 12'000; now += 100) {
    room.tick(now);
    seen.push_back(room.stats().next_arrived_ms);
  }
  EXPECT_EQ(seen.front(), open_at) << "the pre-queue waits from the opening";
  EXPECT_NE(std::find(seen.begin(), seen.end(), open_at + 4'100), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), open_at + 9'500), seen.end());
  std::vector<std::int64_t> dated;
  std::copy_if(seen.begin(), seen.end(), std::back_inserter(dated), [](std::int64_t ms) { return ms != 0; });
  EXPECT_TRUE(std::is_sorted(dated.begin(), dated.end())) << "the head of the line only gets younger";
  EXPECT_EQ(room.stats().waiting, 0);
  EXPECT_EQ(seen.back(), 0) << "nobody waits";
}

TEST(WaitingRoom, ActiveBuyerCapClosesTheLoop) {
  WaitingRoom room(fast(1000, 5), kT0, kT0, 1);
  auto t = join_many(room, 20, kT0);
  room.tick(kT0 + 1000);
  EXPECT_EQ(room.stats().admitted_total, 5);
  EXPECT_EQ(room.stats().active_buyers, 5);
  room.tick(kT0 + 2000);
  EXPECT_EQ(room.stats().admitted_total, 5);  // nobody finished: nobody else gets in
  ASSERT_TRUE(room.enter(t[0], kT0 + 2000).ok());
  ASSERT_TRUE(room.consume(t[0], kT0 + 2000).ok());
  room.finish(t[0]);
  room.leave(t[1], kT0 + 2000);  // an admitted user leaving frees a slot too
  room.tick(kT0 + 3000);
  EXPECT_EQ(room.stats().admitted_total, 7);
  EXPECT_EQ(room.peek(t[5])->state, PlaceState::ready);
  EXPECT_EQ(room.peek(t[6])->state, PlaceState::ready);
  EXPECT_EQ(room.peek(t[7])->state, PlaceState::waiting);
}

TEST(WaitingRoom, AdmissionsThatAreNotUsedLapse) {
  WaitingRoomSettings s = fast(1000, 2);
  s.entry_window_ms = 10'000;
  s.reservation_ttl_ms = 5'000;
  WaitingRoom room(s, kT0, kT0, 1);
  auto t = join_many(room, 4, kT0);
  room.tick(kT0 + 100);
  ASSERT_TRUE(room.enter(t[1], kT0 + 200).ok());
  for (std::int64_t now = kT0 + 1000; now <= kT0 + 6'000; now += 1000) {
    for (const auto& x : t) room.poll(x, now);
    room.tick(now);
  }
  EXPECT_EQ(room.peek(t[1])->state, PlaceState::lapsed);  // entered, token never used
  EXPECT_EQ(room.peek(t[0])->state, PlaceState::ready);   // still inside its entry window
  EXPECT_EQ(room.peek(t[2])->state, PlaceState::ready);   // took the freed slot
  for (std::int64_t now = kT0 + 7'000; now <= kT0 + 12'000; now += 1000) {
    for (const auto& x : t) room.poll(x, now);
    room.tick(now);
  }
  EXPECT_EQ(room.peek(t[0])->state, PlaceState::lapsed);
  EXPECT_EQ(room.stats().lapsed_total, 2);
  EXPECT_FALSE(room.consume(t[1], kT0 + 12'000).ok());
}

TEST(WaitingRoom, EnterAndConsumeFollowTheRules) {
  WaitingRoom room(fast(1000, 10), kT0, kT0, 1);
  auto a = room.join(1, kT0).ticket;
  auto b = room.join(2, kT0).ticket;
  room.set_active_buyer_cap(1);
  room.tick(kT0 + 100);
  EXPECT_EQ(room.enter(b, kT0 + 100).error().code, Errc::not_ready);
  EXPECT_FALSE(room.consume(a, kT0 + 100).ok());  // must enter first
  ASSERT_TRUE(room.enter(a, kT0 + 100).ok());
  EXPECT_TRUE(room.enter(a, kT0 + 150).ok());  // asking again is fine
  ASSERT_TRUE(room.consume(a, kT0 + 200).ok());
  EXPECT_EQ(room.consume(a, kT0 + 200).error().code, Errc::token_used);
  EXPECT_EQ(room.enter(a, kT0 + 300).error().code, Errc::token_used);
}

TEST(WaitingRoom, LeavingReturnsNoPlaceAndJoiningAgainGivesANewOne) {
  WaitingRoom room(fast(), kT0 + 1000, kT0, 1);
  auto a = room.join(7, kT0).ticket;
  room.leave(a, kT0);
  EXPECT_EQ(room.peek(a)->state, PlaceState::left);
  auto again = room.join(7, kT0 + 10);
  EXPECT_FALSE(again.existing);
  EXPECT_NE(again.ticket, a);
  room.tick(kT0 + 1000);
  EXPECT_EQ(room.stats().waiting, 1);
}

TEST(WaitingRoom, EtaUsesTheConfiguredRateUntilThereIsHistory) {
  WaitingRoom room(fast(20), kT0, kT0, 1);
  EXPECT_DOUBLE_EQ(room.eta_rate(), 20);
  join_many(room, 1000, kT0);
  room.set_active_buyer_cap(10);  // the cap, not the configured rate, limits admissions
  std::int64_t now = kT0;
  for (int i = 0; i < 100; ++i) room.tick(now += 100);
  EXPECT_EQ(room.stats().admitted_total, 10);
  EXPECT_LT(room.eta_rate(), 5);  // measured: 10 in the first second, nothing since
  EXPECT_GT(room.eta_rate(), 0);
}

TEST(WaitingRoom, MillionPlacesStayCompact) {
  WaitingRoom room(fast(), kT0, kT0, 1);
  for (std::uint64_t i = 1; i <= 1'000'000; ++i) room.join(i, kT0);
  EXPECT_EQ(room.stats().waiting, 1'000'000);
  EXPECT_EQ(*room.peek(Ticket{false, 1'000'000})->position, 999'999);
  EXPECT_LT(room.memory_bytes(), 80u * 1024 * 1024);
}

}  // namespace
}  // namespace tacos::domain

namespace tacos::domain {
namespace {

TEST(WaitingRoom, APollStampedAfterTheSweepReadTheClockIsFresh) {
  WaitingRoom room(WaitingRoomSettings{}, kT0, kT0, 1);
  room.set_active_buyer_cap(0);
  auto t = room.join(1, kT0).ticket;
  room.poll(t, kT0 + 42'000);  // a poll that read the clock just after the sweep did
  room.tick(kT0 + 41'500);
  EXPECT_EQ(room.peek(t)->state, PlaceState::waiting);
  room.tick(kT0 + 43'000);
  EXPECT_EQ(room.peek(t)->state, PlaceState::waiting);
}

}  // namespace
}  // namespace tacos::domain

namespace tacos::domain {
namespace {

// What a store holds after each settled batch: the owner's side of journal mode.
struct FakeStore {
  StoredRoom stored;
  std::map<std::pair<bool, std::uint32_t>, PlaceChange> places;

  // Takes the room's pending changes, "stores" them and settles them.
  void flush(WaitingRoom& room) {
    auto p = room.take_pending();
    for (const auto& c : p.changes) places[{c.ticket.pre, c.ticket.index}] = c;
    stored.opened = room.open();
    stored.opened_at_ms = room.opened_at_ms();
    stored.pre_issued = room.pre_issued();
    stored.seq_issued = room.seq_issued();
    stored.serving = p.serving;
    stored.totals = room.stats();
    room.settle(p);
  }
  StoredRoom snapshot() const {
    StoredRoom s = stored;
    s.places.clear();
    for (const auto& [k, c] : places) s.places.push_back(c);
    return s;
  }
};

WaitingRoomSettings journaled(double rate = 1000, std::int64_t cap = 1'000'000) {
  auto s = fast(rate, cap);
  s.journal = true;
  return s;
}

TEST(WaitingRoomJournal, DeparturesCountInPositionsUntilSettled) {
  WaitingRoom room(journaled(), kT0, kT0, 1);
  room.set_active_buyer_cap(0);
  auto t = join_many(room, 3, kT0);
  FakeStore store;
  store.flush(room);
  room.leave(t[0], kT0 + 1);
  EXPECT_EQ(room.peek(t[0])->state, PlaceState::left);  // the leaver sees it at once
  EXPECT_EQ(*room.peek(t[2])->position, 2);             // the others not yet
  store.flush(room);
  EXPECT_EQ(*room.peek(t[2])->position, 1);
}

TEST(WaitingRoomJournal, AnAdmissionShowsOnlyOnceStored) {
  WaitingRoom room(journaled(), kT0, kT0, 1);
  auto t = room.join(1, kT0).ticket;
  room.tick(kT0 + 100);
  EXPECT_EQ(room.peek(t)->state, PlaceState::waiting);
  EXPECT_EQ(room.enter(t, kT0 + 100).error().code, Errc::not_ready);
  FakeStore store;
  store.flush(room);
  EXPECT_EQ(room.peek(t)->state, PlaceState::ready);
  EXPECT_TRUE(room.enter(t, kT0 + 110).ok());
}

TEST(WaitingRoomJournal, AFailedStoreIsTakenAgainWithTheNextBatch) {
  WaitingRoom room(journaled(), kT0, kT0, 1);
  room.set_active_buyer_cap(0);
  auto t = join_many(room, 2, kT0);
  room.leave(t[0], kT0 + 1);
  auto lost = room.take_pending();
  room.restore_pending(std::move(lost));  // storing failed
  room.leave(t[1], kT0 + 2);
  auto again = room.take_pending();
  ASSERT_EQ(again.changes.size(), 2u);
  EXPECT_EQ(again.changes[0].ticket, t[0]);
  EXPECT_EQ(again.departed.size(), 2u);
}

// Many random crashes: a room rebuilt from what was stored never shows a fan a higher position
// than one shown before, and admissions shown before stay admissions.
TEST(WaitingRoomJournal, ARestoredRoomNeverShowsAHigherPosition) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    WaitingRoomSettings s = journaled(40, 30);
    s.abandon_after_ms = 4'000;
    const std::int64_t opens = kT0 + 2'000;
    WaitingRoom room(s, opens, kT0, seed * 7919);
    FakeStore store;
    std::vector<Ticket> tickets;
    std::map<std::pair<bool, std::uint32_t>, std::int64_t> shown;  // lowest position shown per ticket
    std::set<std::pair<bool, std::uint32_t>> admitted;
    std::int64_t now = kT0;
    std::uint64_t user = 1;
    auto look = [&](WaitingRoom& r) {
      for (const auto& t : tickets) {
        auto v = (t.index + user) % 5 == 0 ? r.peek(t) : r.poll(t, now);
        if (!v) continue;
        auto key = std::make_pair(t.pre, t.index);
        if (v->state == PlaceState::ready) admitted.insert(key);
        if (v->position && v->state == PlaceState::waiting) {
          auto it = shown.find(key);
          ASSERT_TRUE(it == shown.end() || *v->position <= it->second)
              << "seed " << seed << " ticket " << (t.pre ? "p" : "s") << t.index;
          shown[key] = *v->position;
        }
      }
    };
    for (int step = 0; step < 600; ++step) {
      now += 25;
      int joins = std::uniform_int_distribution<int>(0, 2)(rng);
      for (int j = 0; j < joins; ++j) tickets.push_back(room.join(user++, now).ticket);
      if (!tickets.empty() && std::uniform_int_distribution<int>(0, 7)(rng) == 0) {
        room.leave(tickets[std::uniform_int_distribution<std::size_t>(0, tickets.size() - 1)(rng)], now);
      }
      room.tick(now);
      // Joins are answered only once stored, so a fan's token always names a stored place.
      if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) store.flush(room);
      look(room);
      if (std::uniform_int_distribution<int>(0, 60)(rng) == 0) {
        // Crash: whatever was not stored is lost; tickets handed out but not stored were never answered.
        auto snap = store.snapshot();
        std::erase_if(tickets,
                      [&](const Ticket& t) { return t.pre ? t.index >= snap.pre_issued : t.index > snap.seq_issued; });
        room = WaitingRoom::restore(s, opens, kT0, seed * 7919, snap, now);
        for (const auto& key : admitted) {
          auto v = room.peek(Ticket{key.first, key.second});
          ASSERT_TRUE(v.has_value());
          ASSERT_NE(v->state, PlaceState::waiting) << "an admission shown before was taken back";
        }
        look(room);
      }
    }
    EXPECT_GT(room.stats().admitted_total, 0);
  }
}

TEST(WaitingRoomJournal, RestoreKeepsAdmissionsUsesAndDeadlines) {
  WaitingRoomSettings s = journaled(1000, 3);
  s.entry_window_ms = 10'000;
  s.reservation_ttl_ms = 5'000;
  WaitingRoom room(s, kT0, kT0, 5);
  auto t = join_many(room, 6, kT0);
  room.tick(kT0 + 100);
  FakeStore store;
  store.flush(room);
  ASSERT_TRUE(room.enter(t[1], kT0 + 200).ok());
  ASSERT_TRUE(room.enter(t[2], kT0 + 200).ok());
  ASSERT_TRUE(room.consume(t[2], kT0 + 300).ok());  // the hold's reservation records the use
  store.flush(room);
  auto snap = store.snapshot();
  snap.uses.push_back({t[2], true, kT0 + 300});

  auto back = WaitingRoom::restore(s, kT0, kT0, 5, snap, kT0 + 1'000);
  EXPECT_EQ(back.peek(t[0])->state, PlaceState::ready);
  EXPECT_EQ(back.peek(t[1])->state, PlaceState::entered);
  EXPECT_EQ(back.peek(t[2])->state, PlaceState::consumed);
  EXPECT_EQ(back.consume(t[2], kT0 + 1'000).error().code, Errc::token_used);
  EXPECT_EQ(back.stats().active_buyers, 3);  // the cap stays full: nobody else is let in
  back.tick(kT0 + 1'100);
  EXPECT_EQ(back.peek(t[3])->state, PlaceState::waiting);
  EXPECT_EQ(*back.peek(t[3])->position, 0);
  // A fan admitted before the crash may hold with a token from an enter that was not stored.
  EXPECT_TRUE(back.consume(t[0], kT0 + 1'200).ok());
  // The entered place lapses when its token would have expired; its slot goes to the next fan.
  for (std::int64_t now = kT0 + 2'000; now <= kT0 + 6'000; now += 1'000) {
    for (const auto& x : t) back.poll(x, now);
    back.tick(now);
  }
  EXPECT_EQ(back.peek(t[1])->state, PlaceState::lapsed);
  EXPECT_EQ(back.peek(t[3])->state, PlaceState::waiting);  // shown once the admission is stored
  store = FakeStore{};
  store.flush(back);
  EXPECT_EQ(back.peek(t[3])->state, PlaceState::ready);
}

TEST(WaitingRoomJournal, ARestoredPreQueueIsDrawnInTheSameOrder) {
  const std::int64_t opens = kT0 + 5'000;
  WaitingRoom room(journaled(1, 1), opens, kT0, 4242);
  auto early = join_many(room, 200, kT0 + 100);
  FakeStore store;
  store.flush(room);
  room.leave(early[3], kT0 + 200);
  store.flush(room);
  room.tick(opens);
  store.flush(room);
  auto back = WaitingRoom::restore(journaled(1, 1), opens, kT0, 4242, store.snapshot(), opens + 10);
  for (const auto& t : early) {
    auto a = room.peek(t), b = back.peek(t);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->state, b->state);
    EXPECT_EQ(a->position, b->position);
  }
  EXPECT_EQ(back.peek(early[3])->state, PlaceState::left);
}

TEST(WaitingRoomJournal, APreQueueFanSeesNoPositionUntilTheDrawIsStored) {
  const std::int64_t opens = kT0 + 5'000;
  WaitingRoom room(journaled(1, 1), opens, kT0, 1);
  room.set_active_buyer_cap(0);
  auto t = join_many(room, 3, kT0);
  FakeStore store;
  store.flush(room);
  room.tick(opens);
  EXPECT_FALSE(room.peek(t[1])->position.has_value());
  store.flush(room);
  EXPECT_TRUE(room.peek(t[1])->position.has_value());
}

TEST(WaitingRoom, ABuyerWhoUsedTheEntryGetsANewPlaceOnJoiningAgain) {
  WaitingRoom room(fast(1000, 10), kT0, kT0, 1);
  auto a = room.join(1, kT0).ticket;
  room.tick(kT0 + 100);
  ASSERT_TRUE(room.enter(a, kT0 + 100).ok());
  EXPECT_EQ(room.join(1, kT0 + 150).ticket, a);  // admitted, not buying yet: the same place
  ASSERT_TRUE(room.consume(a, kT0 + 200).ok());
  auto again = room.join(1, kT0 + 300);
  EXPECT_FALSE(again.existing);
  EXPECT_NE(again.ticket, a);
  room.leave(a, kT0 + 400);  // leaving the old place does not end the purchase
  EXPECT_EQ(room.peek(a)->state, PlaceState::consumed);
}

}  // namespace
}  // namespace tacos::domain

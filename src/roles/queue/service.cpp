#include "roles/queue/service.hpp"

#include <sodium.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <future>
#include <vector>

#include "common/ids.hpp"
#include "common/log.hpp"

namespace tacos::queue {

using domain::PlaceState;
using domain::Ticket;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  out.reserve(8);  // tokens have six fields: one allocation, not four
  while (true) {
    auto i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}

template <typename T>
bool to_int(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::uint64_t random_u64() {
  std::uint64_t v;
  auto b = random_bytes(sizeof v);
  std::memcpy(&v, b.data(), sizeof v);
  return v;
}

}  // namespace

std::string encode_ticket(Ticket t) { return (t.pre ? "p" : "s") + std::to_string(t.index); }

std::optional<Ticket> decode_ticket(std::string_view text) {
  if (text.size() < 2 || (text[0] != 'p' && text[0] != 's')) return std::nullopt;
  Ticket t;
  t.pre = text[0] == 'p';
  if (!to_int(text.substr(1), t.index)) return std::nullopt;
  return t;
}

QueueService::QueueService(inventory::InventoryClient& inventory, const Clock& clock, Settings settings,
                           std::vector<auth::SigningKey> keys, metrics::Registry& metrics,
                           store::QueueStateStore* state, kv::Redis* redis, std::string kv_prefix,
                           net::BlockingPool* blocking)
    : inventory_(inventory),
      clock_(clock),
      s_(settings),
      waiting_signer_("wt1", keys),
      reservation_signer_("rt1", keys),
      metrics_(metrics),
      joins_(metrics.counter("tacos_queue_joins_total")),
      flush_failures_(metrics.counter("tacos_queue_store_failures_total")),
      state_(redis ? nullptr : state),
      redis_(redis),
      kv_prefix_(std::move(kv_prefix) + "queue:"),
      blocking_(blocking),
      ticker_owner_(new_id("qt_")),
      user_key_secret_(random_bytes(crypto_shorthash_KEYBYTES)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (redis_) {
    // One place per user across replicas: every replica keys users alike, with a secret derived
    // from the token keys they share.
    std::string material;
    for (const auto& k : keys) material += k.secret;
    crypto_generichash(reinterpret_cast<unsigned char*>(user_key_secret_.data()), user_key_secret_.size(),
                       reinterpret_cast<const unsigned char*>(material.data()), material.size(), nullptr, 0);
  }
}

QueueService::~QueueService() { stop_ticker(); }

void QueueService::start_ticker() {
  ticker_ = std::thread([this] {
    auto next_tick = clock_.now_ms() + s_.tick_ms;
    std::unique_lock lock(ticker_mu_);
    while (!ticker_stop_) {
      auto wait_ms = std::max<std::int64_t>(0, next_tick - clock_.now_ms());
      ticker_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return ticker_stop_ || flush_wanted_; });
      if (ticker_stop_) break;
      flush_wanted_ = false;
      lock.unlock();
      try {
        if (clock_.now_ms() >= next_tick) {
          tick();
          next_tick = clock_.now_ms() + s_.tick_ms;
        }
        // Joins that arrive while this flush stores its batch go in the next one (group commit).
        flush();
      } catch (const std::exception& e) {
        log::error("queue tick failed", {log::str("error", e.what())});
      }
      lock.lock();
    }
  });
}

void QueueService::stop_ticker() {
  {
    std::lock_guard lock(ticker_mu_);
    ticker_stop_ = true;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) {
    ticker_.join();
    try {
      flush();  // what changed since the last tick is stored before the process ends
    } catch (const std::exception& e) {
      log::error("storing the waiting rooms at stop failed", {log::str("error", e.what())});
    }
  }
}

void QueueService::request_flush() {
  {
    std::lock_guard lock(ticker_mu_);
    flush_wanted_ = true;
  }
  ticker_cv_.notify_one();
}

void QueueService::tick() {
  std::vector<Room*> rooms;
  {
    std::shared_lock lock(rooms_mu_);
    for (auto& [id, r] : rooms_) rooms.push_back(r.get());
  }
  auto now = clock_.now_ms();
  if (shared()) return tick_shared(rooms, now);
  for (auto* r : rooms) {
    std::lock_guard lock(r->mu);
    r->room.tick(now);
  }
}

void QueueService::tick_shared(const std::vector<Room*>& rooms, std::int64_t now) {
  // Another replica's ticker may hold a room's lease: its tick() is then a no-op here. A lease
  // outlives a few missed ticks, and is taken over within it when its holder dies.
  constexpr std::int64_t kLeaseMs = 3000;
  constexpr std::int64_t kCountersEveryMs = 500;
  bool failing = false;
  for (auto* r : rooms) {
    auto ticked = r->shared->tick(ticker_owner_, now, kLeaseMs);
    if (!ticked) {
      // Once when it starts failing and once when it works again, not every tick_ms.
      if (!tick_failing_) log::warn("queue tick failed; retrying", {log::str("error", ticked.error().message)});
      failing = true;
      continue;
    }
    if (now - r->counters_read_ms < kCountersEveryMs) continue;
    auto counters = r->shared->stats();
    auto limits = r->shared->limits();
    if (!counters || !limits) continue;
    std::lock_guard lock(r->mu);
    r->counters = *counters;
    r->rate = limits->first;
    r->counters_read_ms = now;
  }
  if (tick_failing_ && !failing) log::info("queue ticks work again");
  tick_failing_ = failing;
}

void QueueService::flush() {
  if (shared()) return;  // every change is in Redis as it happens
  std::lock_guard flushing(flush_mu_);
  struct Batch {
    Room* room;
    domain::PendingChanges pending;
    std::vector<PendingJoin> joins;
  };
  std::vector<Batch> batch;
  std::vector<store::QueueRoomRecord> records;
  std::vector<store::QueuePlaceRecord> places;
  {
    std::shared_lock lock(rooms_mu_);
    for (auto& [id, r] : rooms_) {
      std::lock_guard room_lock(r->mu);
      auto& room = r->room;
      if (r->stored && r->joins.empty() && !room.has_pending()) continue;
      Batch b{r.get(), room.take_pending(), std::move(r->joins)};
      r->joins.clear();
      if (state_) {
        auto st = room.stats();
        store::QueueRoomRecord rec;
        rec.event_id = id;
        rec.epoch = r->epoch;
        rec.shuffle_seed = r->seed;
        rec.created_at_ms = r->created_ms;
        rec.opened_at_ms = room.open() ? room.opened_at_ms() : 0;
        rec.pre_issued = room.pre_issued();
        rec.seq_issued = room.seq_issued();
        rec.serving = static_cast<std::int64_t>(b.pending.serving);
        rec.joined_total = st.joined_total;
        rec.admitted_total = st.admitted_total;
        rec.abandoned_total = st.abandoned_total;
        rec.left_total = st.left_total;
        rec.lapsed_total = st.lapsed_total;
        rec.finished_total = st.finished_total;
        records.push_back(std::move(rec));
        for (const auto& c : b.pending.changes) {
          places.push_back({id, encode_ticket(c.ticket), std::string(domain::to_string(c.state)), c.at_ms});
        }
      }
      batch.push_back(std::move(b));
    }
  }
  if (batch.empty()) return;
  bool stored = true;
  if (state_) {
    try {
      state_->save_queues(records, places);
    } catch (const std::exception& e) {
      stored = false;
      flush_failures_.inc();
      log::error("storing the waiting rooms failed; retrying", {log::str("error", e.what())});
    }
  }
  for (auto& b : batch) {
    {
      std::lock_guard lock(b.room->mu);
      if (stored) {
        b.room->room.settle(b.pending);
        b.room->stored = true;
      } else {
        b.room->room.restore_pending(std::move(b.pending));
      }
    }
    // Answered outside the room's lock: done() hands the answer to a connection's thread.
    for (auto& j : b.joins) {
      if (stored)
        j.done(std::move(j.result));
      else
        j.done(Error(Errc::unavailable, "the waiting room could not save your place; please try again"));
    }
  }
}

std::uint64_t QueueService::user_key(const std::string& subject) const {
  // Keyed SipHash: 8 bytes per user instead of the id, and not steerable into collisions.
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, reinterpret_cast<const unsigned char*>(subject.data()), subject.size(),
                   reinterpret_cast<const unsigned char*>(user_key_secret_.data()));
  std::uint64_t v;
  std::memcpy(&v, out, sizeof v);
  return v;
}

void QueueService::register_metrics(const std::string& event_id, Room* room) {
  metrics::Labels labels{{"event", event_id}};
  auto read = [room](auto field) {
    return [room, field] {
      std::lock_guard lock(room->mu);
      return static_cast<double>(field(room->shared ? room->counters : room->room.stats()));
    };
  };
  using S = domain::WaitingRoomStats;
  metrics_.gauge_fn("tacos_queue_waiting", labels, read([](const S& s) { return s.waiting + s.pre_queue; }));
  metrics_.gauge_fn("tacos_queue_active_buyers", labels, read([](const S& s) { return s.active_buyers; }));
  metrics_.gauge_fn("tacos_queue_admission_rate", labels, read([](const S& s) { return s.measured_rate; }));
  metrics_.counter_fn("tacos_queue_admitted_total", labels, read([](const S& s) { return s.admitted_total; }));
  metrics_.counter_fn("tacos_queue_abandoned_total", labels, read([](const S& s) { return s.abandoned_total; }));
  const Clock* clock = &clock_;
  metrics_.gauge_fn(
      "tacos_queue_oldest_wait_seconds", labels, read([clock](const S& s) {
        return s.next_arrived_ms > 0 ? std::max<std::int64_t>(0, clock->now_ms() - s.next_arrived_ms) / 1000.0 : 0.0;
      }));
}

domain::WaitingRoomSettings QueueService::room_settings(const inventory::EventInfo& info) const {
  domain::WaitingRoomSettings ws;
  ws.admission_rate = info.admission_rate;
  ws.active_buyer_cap = info.active_buyer_cap;
  ws.abandon_after_ms = s_.abandon_after_ms;
  ws.entry_window_ms = s_.entry_window_ms;
  ws.reservation_ttl_ms = s_.reservation_ttl_ms;
  ws.buyer_timeout_ms = s_.buyer_timeout_ms;
  ws.journal = state_ != nullptr;
  return ws;
}

QueueService::Room* QueueService::add_room(std::string event_id, std::unique_ptr<Room> room) {
  Room* raw = nullptr;
  {
    std::unique_lock lock(rooms_mu_);
    auto [it, inserted] = rooms_.emplace(event_id, std::move(room));
    raw = it->second.get();
    if (!inserted) return raw;
  }
  register_metrics(event_id, raw);
  return raw;
}

QueueService::Room* QueueService::find_room(std::string_view event_id) {
  std::shared_lock lock(rooms_mu_);
  auto it = rooms_.find(event_id);
  return it == rooms_.end() ? nullptr : it->second.get();
}

bool QueueService::no_room(const Error& e) { return e.code == Errc::not_in_queue || e.code == Errc::not_found; }

Result<QueueService::Room*> QueueService::existing_room(std::string_view event_id) {
  if (auto* r = find_room(event_id)) return r;
  if (shared()) {
    // Another replica (or this one before a restart) made the room: this one joins it. Shared
    // calls run where they may wait.
    std::promise<Result<Room*>> made;
    room_for(std::string(event_id), [&made](Result<Room*> r) { made.set_value(std::move(r)); });
    auto room = made.get_future().get();
    if (room || room.error().code != Errc::not_found) return room;
  }
  return Error(Errc::not_in_queue, "this event has no queue yet");
}

void QueueService::room_for(std::string event_id, std::function<void(Result<Room*>)> done) {
  if (auto* r = find_room(event_id)) return done(r);
  inventory_.event_info(event_id, [this, event_id, done = std::move(done)](Result<inventory::EventInfo> info) {
    if (!info) {
      if (info.error().code == Errc::not_found) return done(Error(Errc::not_found, "no event '" + event_id + "'"));
      return done(info.error());
    }
    auto now = clock_.now_ms();
    auto seed = random_u64();
    auto epoch = random_u64() >> 16;
    std::unique_ptr<RedisRoom> shared_room;
    if (shared()) {
      // The room may exist already, made by another replica: its epoch is the one tokens carry.
      RedisRoomSettings rs{room_settings(*info), info->sale_starts_at_ms, now,
                           static_cast<std::uint32_t>(1 + seed % 2147483646), epoch};
      shared_room = std::make_unique<RedisRoom>(*redis_, kv_prefix_, event_id, rs);
      auto agreed = shared_room->epoch();
      if (!agreed) return done(agreed.error());
      epoch = *agreed;
    }
    auto room = std::make_unique<Room>(domain::WaitingRoom(room_settings(*info), info->sale_starts_at_ms, now, seed),
                                       epoch, seed, now);
    room->shared = std::move(shared_room);
    room->rate = info->admission_rate;
    auto* raw = add_room(event_id, std::move(room));
    if (state_) request_flush();  // a new room is stored even before anyone joins it
    done(raw);
  });
}

std::size_t QueueService::restore() {
  if (!state_) return 0;  // nothing stored (or shared: the rooms are in Redis)
  auto now = clock_.now_ms();
  std::size_t restored = 0;
  for (const auto& q : state_->load_queues()) {
    std::promise<Result<inventory::EventInfo>> asked;
    inventory_.event_info(q.room.event_id, [&asked](Result<inventory::EventInfo> r) { asked.set_value(std::move(r)); });
    auto info = asked.get_future().get();
    if (!info && info.error().code != Errc::not_found) {
      throw std::runtime_error("restoring the waiting rooms: " + info.error().message);
    }
    if (!info) {
      log::warn("stored waiting room of an unknown event skipped", {log::str("event_id", q.room.event_id)});
      continue;
    }
    domain::StoredRoom stored;
    stored.opened = q.room.opened_at_ms > 0;
    stored.opened_at_ms = q.room.opened_at_ms;
    stored.pre_issued = static_cast<std::uint32_t>(q.room.pre_issued);
    stored.seq_issued = static_cast<std::uint32_t>(q.room.seq_issued);
    stored.serving = static_cast<std::uint64_t>(q.room.serving);
    stored.totals.joined_total = q.room.joined_total;
    stored.totals.admitted_total = q.room.admitted_total;
    stored.totals.abandoned_total = q.room.abandoned_total;
    stored.totals.left_total = q.room.left_total;
    stored.totals.lapsed_total = q.room.lapsed_total;
    stored.totals.finished_total = q.room.finished_total;
    for (const auto& p : q.places) {
      auto t = decode_ticket(p.ticket);
      auto st = domain::parse_place_state(p.state);
      if (t && st) stored.places.push_back({*t, *st, p.at_ms});
    }
    // Only uses of this room's tokens count: "<epoch>:<ticket>".
    auto prefix = std::to_string(q.room.epoch) + ":";
    for (const auto& u : q.uses) {
      if (u.queue_ticket.rfind(prefix, 0) != 0) continue;
      if (auto t = decode_ticket(std::string_view(u.queue_ticket).substr(prefix.size()))) {
        stored.uses.push_back({*t, u.live, u.at_ms});
      }
    }
    auto room =
        std::make_unique<Room>(domain::WaitingRoom::restore(room_settings(*info), info->sale_starts_at_ms,
                                                            q.room.created_at_ms, q.room.shuffle_seed, stored, now),
                               q.room.epoch, q.room.shuffle_seed, q.room.created_at_ms);
    room->restored = true;
    room->stored = true;
    auto stats = room->room.stats();
    log::info(
        "waiting room restored",
        {log::str("event_id", q.room.event_id), log::num("waiting", stats.waiting + stats.pre_queue),
         log::num("active_buyers", stats.active_buyers), log::num("serving", static_cast<long long>(stats.serving))});
    add_room(q.room.event_id, std::move(room));
    ++restored;
  }
  return restored;
}

std::string QueueService::waiting_token(const std::string& event_id, std::uint64_t epoch, Ticket t,
                                        std::int64_t issued_ms, const std::string& subject) const {
  return waiting_signer_.sign("w|" + event_id + "|" + std::to_string(epoch) + "|" + encode_ticket(t) + "|" +
                              std::to_string(issued_ms) + "|" + subject);
}

Result<QueueService::WaitingClaims> QueueService::waiting_claims(std::string_view token,
                                                                 std::string_view expected_event) const {
  if (token.empty()) return Error(Errc::invalid_token, "a waiting token is required");
  auto payload = waiting_signer_.verify(token);
  if (!payload) return Error(Errc::invalid_token, "the waiting token is not valid");
  auto parts = split(*payload, '|');
  WaitingClaims c;
  std::optional<Ticket> ticket;
  if (parts.size() != 6 || parts[0] != "w" || !to_int(parts[2], c.epoch) || !(ticket = decode_ticket(parts[3])) ||
      !to_int(parts[4], c.issued_ms)) {
    return Error(Errc::invalid_token, "the waiting token is not valid");
  }
  c.event_id = parts[1];
  c.ticket = *ticket;
  c.subject = parts[5];
  if (clock_.now_ms() >= c.issued_ms + s_.waiting_token_ttl_ms) {
    return Error(Errc::token_expired, "the waiting token has expired; join again");
  }
  if (!expected_event.empty() && expected_event != c.event_id) {
    return Error(Errc::not_in_queue, "this waiting token belongs to another event's queue");
  }
  return c;
}

Result<std::pair<QueueService::Room*, QueueService::WaitingClaims>> QueueService::open_waiting_token(
    std::string_view token, std::string_view expected_event) {
  auto claims = waiting_claims(token, expected_event);
  if (!claims) return claims.error();
  auto& c = *claims;
  auto room = existing_room(c.event_id);
  if (!room && !no_room(room.error())) return room.error();  // Redis or the inventory did not answer
  // A shared room checks the epoch itself (it changes when Redis loses the room).
  if (!room || (!(*room)->shared && (*room)->epoch != c.epoch)) {
    return Error(Errc::place_lost, "the queue for this event was reset; join again");
  }
  return std::make_pair(*room, std::move(c));
}

bool QueueService::is_open(const Room& room, std::int64_t now_ms) {
  return room.shared ? now_ms >= room.room.sale_starts_at_ms() : room.room.open();
}

std::int64_t QueueService::eta_sec(const Room& room, std::optional<std::int64_t> position, std::int64_t now_ms) const {
  if (!is_open(room, now_ms)) {
    return std::clamp<std::int64_t>((room.room.sale_starts_at_ms() - now_ms + 999) / 1000, 0, s_.max_eta_sec);
  }
  if (!position) return 0;  // not waiting: admitted or done
  double rate = std::max(room.shared ? room.rate.load() : room.room.eta_rate(), 0.01);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(static_cast<double>(*position + 1) / rate)), 1,
                                  s_.max_eta_sec);
}

void QueueService::join(std::string_view event_id, const Subject& subject,
                        std::function<void(Result<JoinResult>)> done) {
  if (shared() && blocking_ && !blocking_->running_here()) {
    return blocking_->submit([this, id = std::string(event_id), subject, done = std::move(done)]() mutable {
      join(id, subject, std::move(done));
    });
  }
  if (auto* r = find_room(event_id)) return join_room(r, event_id, subject, std::move(done));
  room_for(std::string(event_id),
           [this, event_id = std::string(event_id), subject, done = std::move(done)](Result<Room*> room) mutable {
             if (!room) return done(room.error());
             join_room(*room, event_id, subject, std::move(done));
           });
}

void QueueService::join_room(Room* r, std::string_view event_id, const Subject& subject,
                             std::function<void(Result<JoinResult>)> done) {
  std::string who = subject.user_id.empty() ? "c:" + subject.client_id : "u:" + subject.user_id;
  auto key = user_key(who);
  auto now = clock_.now_ms();
  JoinResult out;
  out.event_id = std::string(event_id);
  domain::WaitingRoom::Joined joined;
  std::optional<domain::WaitingRoom::View> view;
  std::uint64_t epoch = r->epoch;
  if (r->shared) {
    auto j = r->shared->join(key, now);
    if (!j) return done(j.error());
    auto v = r->shared->poll({j->epoch, j->joined.ticket}, now);
    if (!v) return done(v.error());
    joined = j->joined;
    epoch = j->epoch;
    view = *v;
  }
  {
    std::lock_guard lock(r->mu);
    auto& wr = r->room;
    if (!r->shared) {
      joined = wr.join(key, now);
      view = wr.peek(joined.ticket);
    }
    out.existing = joined.existing;
    out.status = view && view->state != PlaceState::waiting ? "ready" : "waiting";
    out.position = view ? view->position : std::nullopt;
    if (!out.position && !is_open(*r, now)) {  // a hint: the draw is at opening
      out.position = r->shared ? r->counters.pre_queue : wr.stats().pre_queue;
    }
    bool waiting = view && view->state == PlaceState::waiting;
    out.eta_sec = eta_sec(*r, waiting ? view->position : std::nullopt, now);
    if (!out.existing) joins_.inc();
    out.waiting_token = waiting_token(out.event_id, epoch, joined.ticket, now, who);
    if (state_) {
      // The place is answered once it is stored: a crash cannot hand the same place out twice.
      r->joins.push_back(PendingJoin{std::move(out), std::move(done)});
    }
  }
  if (state_) return request_flush();
  done(std::move(out));
}

namespace {
// An expired waiting token is an answer (status "expired"), not an error.
Result<StatusResult> refused_poll(const Error& e) {
  if (e.code != Errc::token_expired) return e;
  StatusResult out;
  out.status = "expired";
  out.reason = "token_expired";
  return out;
}
}  // namespace

Result<StatusResult> QueueService::status(std::string_view token, std::string_view expected_event) {
  auto opened = open_waiting_token(token, expected_event);
  if (!opened) return refused_poll(opened.error());
  auto& [room, claims] = *opened;
  auto now = clock_.now_ms();
  return status_of(*room, claims, now, view_of(*room, claims.epoch, claims.ticket, now, &claims.subject));
}

void QueueService::status_async(std::string token, std::string expected_event,
                                std::function<void(Result<StatusResult>)> done) {
  if (!shared()) return done(status(token, expected_event));
  auto claims = waiting_claims(token, expected_event);
  if (!claims) return done(refused_poll(claims.error()));
  Room* room = find_room(claims->event_id);
  if (!room) {
    // The first poll of this room here: finding it may wait on Redis, so it runs where it may.
    if (blocking_ && !blocking_->running_here()) {
      return blocking_->submit([this, token = std::move(token), expected_event = std::move(expected_event),
                                done = std::move(done)] { done(status(token, expected_event)); });
    }
    return done(status(token, expected_event));
  }
  auto now = clock_.now_ms();
  RedisRoom::Place place{claims->epoch, claims->ticket};
  room->shared->poll_async(place, now,
                           [this, room, claims = std::move(*claims), now,
                            done = std::move(done)](Result<std::optional<domain::WaitingRoom::View>> found) mutable {
                             done(status_of(*room, claims, now, std::move(found)));
                           });
}

Result<StatusResult> QueueService::status_of(const Room& room, const WaitingClaims& claims, std::int64_t now,
                                             Result<std::optional<domain::WaitingRoom::View>> found) const {
  StatusResult out;
  out.event_id = claims.event_id;
  out.waiting_time_sec = std::max<std::int64_t>(0, (now - claims.issued_ms) / 1000);
  auto expired = [&out](std::string reason) {
    out.status = "expired";
    out.reason = std::move(reason);
    return out;
  };
  // Shared, the room that signed the token is gone (Redis lost it): the fan is told so and joins
  // again.
  if (!found && room.shared && found.error().code == Errc::place_lost) return expired("reset");
  if (!found) return found.error();
  auto& view = *found;
  if (!view) return Error(Errc::not_in_queue, "no such place in this queue");
  switch (view->state) {
    case PlaceState::waiting:
      out.status = "waiting";
      break;
    case PlaceState::ready:
    case PlaceState::entered:
      out.status = "ready";
      out.ready_for_entry = true;
      break;
    case PlaceState::consumed:
    case PlaceState::finished:
      return expired("used");
    case PlaceState::left:
      return expired("left");
    case PlaceState::abandoned:
      return expired("abandoned");
    case PlaceState::lapsed:
      return expired("lapsed");
  }
  out.position = view->position;
  out.eta_sec = eta_sec(room, view->state == PlaceState::waiting ? view->position : std::nullopt, now);
  if (!is_open(room, now)) out.opens_in_sec = out.eta_sec;
  return out;
}

Result<std::optional<domain::WaitingRoom::View>> QueueService::view_of(Room& room, std::uint64_t epoch, Ticket t,
                                                                       std::int64_t now_ms, const std::string* poller) {
  if (room.shared) return room.shared->poll({epoch, t}, now_ms);
  std::lock_guard lock(room.mu);
  auto view = poller ? room.room.poll(t, now_ms) : room.room.peek(t);
  // A restored room learns its places again from the tokens that name them.
  if (poller && view && room.restored && domain::keeps_place_on_join(view->state))
    room.room.adopt(user_key(*poller), t);
  return view;
}

Result<EnterResult> QueueService::enter(std::string_view token, std::string_view expected_event) {
  auto opened = open_waiting_token(token, expected_event);
  if (!opened) return opened.error();
  auto& [room, claims] = *opened;
  auto now = clock_.now_ms();
  if (room->shared) {
    if (auto st = room->shared->enter({claims.epoch, claims.ticket}, now); !st) return st.error();
  } else {
    std::lock_guard lock(room->mu);
    if (auto st = room->room.enter(claims.ticket, now); !st) return st.error();
  }
  // Bound to the user when the join was signed in; to the event only for an anonymous join.
  std::string user = claims.subject.rfind("u:", 0) == 0 ? claims.subject.substr(2) : std::string();
  EnterResult out;
  out.event_id = claims.event_id;
  out.ttl_sec = s_.reservation_ttl_ms / 1000;
  out.reservation_token = reservation_signer_.sign("r|" + claims.event_id + "|" + std::to_string(claims.epoch) + "|" +
                                                   encode_ticket(claims.ticket) + "|" +
                                                   std::to_string(now + s_.reservation_ttl_ms) + "|" + user);
  return out;
}

Status QueueService::leave(std::string_view token) {
  auto opened = open_waiting_token(token, {});
  if (!opened) {
    // Leaving a place that is already gone is what the caller wanted anyway.
    auto code = opened.error().code;
    if (code == Errc::place_lost || code == Errc::not_in_queue || code == Errc::token_expired) return {};
    return opened.error();
  }
  auto& [room, claims] = *opened;
  if (room->shared) {
    auto st = room->shared->leave({claims.epoch, claims.ticket}, clock_.now_ms());
    return st || st.error().code == Errc::place_lost ? Status() : st;
  }
  std::lock_guard lock(room->mu);
  room->room.leave(claims.ticket, clock_.now_ms());
  return {};
}

Result<Admission> QueueService::check_reservation_token(std::string_view token, std::string_view event_id,
                                                        std::string_view user_id) {
  auto invalid = [] { return Error(Errc::reservation_token_invalid, "the reservation token is not valid"); };
  if (token.empty())
    return Error(Errc::reservation_token_invalid, "a reservation token from the waiting room is required");
  auto payload = reservation_signer_.verify(token);
  if (!payload) return invalid();
  auto parts = split(*payload, '|');
  std::uint64_t epoch = 0;
  std::int64_t expires_ms = 0;
  std::optional<Ticket> ticket;
  if (parts.size() != 6 || parts[0] != "r" || !to_int(parts[2], epoch) || !(ticket = decode_ticket(parts[3])) ||
      !to_int(parts[4], expires_ms)) {
    return invalid();
  }
  if (parts[1] != event_id) {
    return Error(Errc::reservation_token_wrong_event, "this reservation token was issued for another event");
  }
  if (clock_.now_ms() >= expires_ms) return Error(Errc::reservation_token_expired, "the reservation token has expired");
  if (!parts[5].empty() && parts[5] != user_id) {
    return Error(Errc::reservation_token_wrong_user, "this reservation token belongs to another user");
  }
  auto room = existing_room(event_id);
  if (!room && !no_room(room.error())) return room.error();
  if (!room || (!(*room)->shared && (*room)->epoch != epoch))
    return Error(Errc::reservation_token_expired, "the queue was reset; join again");
  {
    auto found = view_of(**room, epoch, *ticket, clock_.now_ms(), nullptr);
    // Shared, a place lost with Redis's data: the signed, unexpired token still proves the
    // entry, and the store spends it once (spent_tokens, in the hold's transaction).
    if (!found && (*room)->shared && found.error().code == Errc::place_lost)
      return Admission{std::string(event_id), std::to_string(epoch) + ":" + encode_ticket(*ticket),
                       std::string(user_id)};
    if (!found) return found.error();
    auto& view = *found;
    if (!view) return invalid();
    if (view->state == PlaceState::consumed || view->state == PlaceState::finished) {
      return Error(Errc::token_used, "this reservation token has already been used");
    }
    if (view->state == PlaceState::lapsed)
      return Error(Errc::reservation_token_expired, "this reservation token has expired");
    // A signed, unexpired token proves its enter; after a crash that enter may not have been stored.
    if (view->state != PlaceState::entered && view->state != PlaceState::ready) return invalid();
  }
  return Admission{std::string(event_id), std::to_string(epoch) + ":" + encode_ticket(*ticket), std::string(user_id)};
}

Status QueueService::consume(const Admission& admission) {
  auto invalid = [] { return Error(Errc::reservation_token_invalid, "the reservation token is not valid"); };
  auto colon = admission.ticket.find(':');
  std::uint64_t epoch = 0;
  if (colon == std::string::npos || !to_int(std::string_view(admission.ticket).substr(0, colon), epoch))
    return invalid();
  auto ticket = decode_ticket(std::string_view(admission.ticket).substr(colon + 1));
  if (!ticket) return invalid();
  auto room = existing_room(admission.event_id);
  if (!room && !no_room(room.error())) return room.error();
  if (!room || (!(*room)->shared && (*room)->epoch != epoch))
    return Error(Errc::reservation_token_expired, "the queue was reset; join again");
  if ((*room)->shared) {
    auto st = (*room)->shared->consume({epoch, *ticket}, clock_.now_ms());
    // A place lost with Redis's data: the store has already spent the token with the hold.
    if (!st && st.error().code == Errc::not_in_queue) return {};
    return st;
  }
  std::lock_guard lock((*room)->mu);
  return (*room)->room.consume(*ticket, clock_.now_ms());
}

void QueueService::buyer_finished(std::string_view event_id, std::string_view ticket) {
  auto colon = ticket.find(':');
  std::uint64_t epoch = 0;
  if (colon == std::string_view::npos || !to_int(ticket.substr(0, colon), epoch)) return;
  auto t = decode_ticket(ticket.substr(colon + 1));
  auto room = existing_room(event_id);
  if (!t || !room || (!(*room)->shared && (*room)->epoch != epoch)) return;
  if ((*room)->shared) {
    // Unrecorded, the buyer's slot comes back when the buyer timeout runs out.
    if (auto st = (*room)->shared->finish({epoch, *t}); !st)
      log::warn("a finished buyer could not be recorded", {log::str("error", st.error().message)});
    return;
  }
  std::lock_guard lock((*room)->mu);
  (*room)->room.finish(*t);
}

Result<QueueStats> QueueService::stats_of(const std::string& event_id, Room& room) {
  if (room.shared) {
    QueueStats s;
    s.event_id = event_id;
    auto counters = room.shared->stats();
    if (!counters) return counters.error();
    auto limits = room.shared->limits();
    if (!limits) return limits.error();
    s.room = *counters;
    s.admission_rate = limits->first;
    s.active_buyer_cap = limits->second;
    s.sale_starts_at_ms = room.room.sale_starts_at_ms();
    return s;
  }
  std::lock_guard lock(room.mu);
  QueueStats s;
  s.event_id = event_id;
  s.room = room.room.stats();
  s.admission_rate = room.room.settings().admission_rate;
  s.active_buyer_cap = room.room.settings().active_buyer_cap;
  s.sale_starts_at_ms = room.room.sale_starts_at_ms();
  return s;
}

void QueueService::stats(std::string_view event_id, Done<QueueStats> done) {
  if (shared() && blocking_ && !blocking_->running_here()) {
    return blocking_->submit(
        [this, id = std::string(event_id), done = std::move(done)]() mutable { stats(id, std::move(done)); });
  }
  room_for(std::string(event_id), [this, id = std::string(event_id), done = std::move(done)](Result<Room*> room) {
    if (!room) return done(room.error());
    done(stats_of(id, **room));
  });
}

void QueueService::configure(std::string_view event_id, std::optional<int> admission_rate,
                             std::optional<int> active_buyer_cap, Done<QueueStats> done) {
  if (shared() && blocking_ && !blocking_->running_here()) {
    return blocking_->submit([=, this, id = std::string(event_id), done = std::move(done)]() mutable {
      configure(id, admission_rate, active_buyer_cap, std::move(done));
    });
  }
  room_for(std::string(event_id), [=, this, id = std::string(event_id), done = std::move(done)](Result<Room*> room) {
    if (!room) return done(room.error());
    int rate, cap;
    if ((*room)->shared) {
      auto& shared_room = *(*room)->shared;
      if (auto st = shared_room.configure(admission_rate, active_buyer_cap); !st) return done(st.error());
      auto limits = shared_room.limits();
      if (!limits) return done(limits.error());
      rate = static_cast<int>(limits->first);
      cap = static_cast<int>(limits->second);
    } else {
      std::lock_guard lock((*room)->mu);
      auto& r = (*room)->room;
      if (admission_rate) r.set_admission_rate(*admission_rate);
      if (active_buyer_cap) r.set_active_buyer_cap(*active_buyer_cap);
      rate = static_cast<int>(r.settings().admission_rate);
      cap = static_cast<int>(r.settings().active_buyer_cap);
    }
    auto* raw = *room;
    inventory_.set_queue_settings(id, rate, cap, [this, id, rate, cap, raw, done](Status st) {
      if (!st) return done(st.error());
      log::info("queue settings changed",
                {log::str("event_id", id), log::num("admission_rate", rate), log::num("active_buyer_cap", cap)});
      done(stats_of(id, *raw));
    });
  });
}

}  // namespace tacos::queue

#include "domain/waiting_room.hpp"

#include <algorithm>
#include <iterator>
#include <numeric>

namespace tacos::domain {

std::string_view to_string(PlaceState s) {
  switch (s) {
    case PlaceState::waiting:
      return "waiting";
    case PlaceState::ready:
      return "ready";
    case PlaceState::entered:
      return "entered";
    case PlaceState::consumed:
      return "consumed";
    case PlaceState::finished:
      return "finished";
    case PlaceState::left:
      return "left";
    case PlaceState::abandoned:
      return "abandoned";
    case PlaceState::lapsed:
      return "lapsed";
  }
  return "waiting";
}

std::optional<PlaceState> parse_place_state(std::string_view s) {
  for (auto p : {PlaceState::waiting, PlaceState::ready, PlaceState::entered, PlaceState::consumed,
                 PlaceState::finished, PlaceState::left, PlaceState::abandoned, PlaceState::lapsed}) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

bool holds_place(PlaceState s) {
  return s == PlaceState::waiting || s == PlaceState::ready || s == PlaceState::entered || s == PlaceState::consumed;
}

bool keeps_place_on_join(PlaceState s) {
  return s == PlaceState::waiting || s == PlaceState::ready || s == PlaceState::entered;
}

namespace {
bool is_active_buyer(PlaceState s) {
  return s == PlaceState::ready || s == PlaceState::entered || s == PlaceState::consumed;
}
// The states a stored room remembers per place; consumed and finished come from reservations.
bool journaled(PlaceState s) {
  return s == PlaceState::ready || s == PlaceState::entered || s == PlaceState::left || s == PlaceState::abandoned ||
         s == PlaceState::lapsed;
}
Error place_gone(PlaceState s) {
  switch (s) {
    case PlaceState::left:
      return Error(Errc::place_lost, "you left the queue; join again for a new place");
    case PlaceState::abandoned:
      return Error(Errc::place_lost, "your place was released because the page stopped checking in; join again");
    case PlaceState::lapsed:
      return Error(Errc::place_lost, "your turn passed without entering in time; join again");
    case PlaceState::finished:
      return Error(Errc::place_lost, "this place in line has been used; join again");
    default:
      return Error(Errc::internal, "unexpected place state");
  }
}
}  // namespace

Error enter_refused(PlaceState s) {
  switch (s) {
    case PlaceState::waiting:
      return Error(Errc::not_ready, "it is not your turn yet; keep waiting");
    case PlaceState::consumed:
      return Error(Errc::token_used, "your entry has already been used to hold seats");
    default:
      return place_gone(s);
  }
}

Error consume_refused(PlaceState s) {
  switch (s) {
    case PlaceState::ready:
      return Error(Errc::reservation_token_invalid, "enter the sale first");
    case PlaceState::consumed:
    case PlaceState::finished:
      return Error(Errc::token_used, "this reservation token has already been used");
    case PlaceState::lapsed:
      return Error(Errc::reservation_token_expired, "this reservation token has expired");
    default:
      return Error(Errc::reservation_token_invalid, "this place in line cannot hold seats now");
  }
}

WaitingRoom::WaitingRoom(WaitingRoomSettings settings, std::int64_t sale_starts_at_ms, std::int64_t created_ms,
                         std::uint64_t shuffle_seed)
    : s_(settings), sale_start_ms_(sale_starts_at_ms), created_ms_(created_ms), rng_(shuffle_seed) {
  last_tick_ms_ = created_ms;
  last_sweep_ms_ = created_ms;
  rate_window_start_ms_ = created_ms;
  open_ = created_ms >= sale_starts_at_ms;
  if (open_) opened_at_ms_ = created_ms;
  counters_.open = open_;
}

void WaitingRoom::record(Ticket t, PlaceState to, std::int64_t now_ms) {
  if (s_.journal && journaled(to)) pending_.changes.push_back({t, to, now_ms});
}

std::uint32_t WaitingRoom::append_place(std::int64_t now_ms) {
  auto seq = static_cast<std::uint32_t>(state_.size());
  state_.push_back(PlaceState::waiting);
  last_seen_s_.push_back(now_s(now_ms));
  if (arrivals_.empty() || arrivals_.back().at_ms / 1000 < now_ms / 1000) arrivals_.push_back({seq, now_ms});
  waiting_.add(seq, 1);
  ++counters_.waiting;
  return seq;
}

WaitingRoom::Joined WaitingRoom::join(std::uint64_t user_key, std::int64_t now_ms) {
  if (!open_ && now_ms >= sale_start_ms_) open_sale(now_ms);
  auto it = by_user_.find(user_key);
  if (it != by_user_.end()) {
    auto v = peek(it->second);
    if (v && keeps_place_on_join(v->state)) {
      poll(it->second, now_ms);
      return {it->second, true};
    }
  }
  Ticket t;
  if (!open_) {
    t.pre = true;
    t.index = static_cast<std::uint32_t>(pre_state_.size());
    pre_state_.push_back(PlaceState::waiting);
    pre_last_seen_s_.push_back(now_s(now_ms));
    ++pre_issued_;
    ++counters_.pre_queue;
  } else {
    t.index = append_place(now_ms);
  }
  ++counters_.joined_total;
  by_user_[user_key] = t;
  return {t, false};
}

std::optional<std::uint32_t> WaitingRoom::seq_of(Ticket t) const {
  if (t.pre) {
    if (!open_ || t.index >= pre_seq_.size()) return std::nullopt;
    return pre_seq_[t.index];
  }
  if (t.index == 0 || t.index >= state_.size()) return std::nullopt;
  return t.index;
}

std::optional<WaitingRoom::View> WaitingRoom::peek(Ticket t) const {
  if (t.pre && !open_) {
    if (t.index >= pre_state_.size()) return std::nullopt;
    return View{pre_state_[t.index], std::nullopt};
  }
  auto seq = seq_of(t);
  if (!seq) return std::nullopt;
  View v{state_[*seq], std::nullopt};
  // An admission that is not durable yet is not shown: the fan still waits, at the front.
  if (v.state == PlaceState::ready && !admission_shown(*seq)) v.state = PlaceState::waiting;
  if (v.state == PlaceState::waiting) {
    // Before the draw is durable, a pre-queue fan sees no position: a crash would draw again.
    if (!t.pre || opening_settled_) v.position = waiting_.prefix(*seq - 1);
  } else if (is_active_buyer(v.state)) {
    v.position = 0;
  }
  return v;
}

std::optional<WaitingRoom::View> WaitingRoom::poll(Ticket t, std::int64_t now_ms) {
  if (t.pre && !open_) {
    if (t.index >= pre_state_.size()) return std::nullopt;
    if (pre_state_[t.index] == PlaceState::waiting) pre_last_seen_s_[t.index] = now_s(now_ms);
    return peek(t);
  }
  auto seq = seq_of(t);
  if (!seq) return std::nullopt;
  last_seen_s_[*seq] = now_s(now_ms);
  return peek(t);
}

void WaitingRoom::set_state(std::uint32_t seq, PlaceState to, std::int64_t now_ms) {
  PlaceState from = state_[seq];
  if (from == to) return;
  if (from == PlaceState::waiting) {
    // In journal mode the place counts in others' positions until its departure is durable.
    if (s_.journal)
      pending_.departed.push_back(seq);
    else
      waiting_.add(seq, -1);
    --counters_.waiting;
  }
  record(Ticket{false, seq}, to, now_ms);
  if (is_active_buyer(from) && !is_active_buyer(to)) --counters_.active_buyers;
  if (!is_active_buyer(from) && is_active_buyer(to)) ++counters_.active_buyers;
  switch (to) {
    case PlaceState::left:
      ++counters_.left_total;
      break;
    case PlaceState::abandoned:
      ++counters_.abandoned_total;
      break;
    case PlaceState::lapsed:
      ++counters_.lapsed_total;
      break;
    case PlaceState::finished:
      ++counters_.finished_total;
      break;
    default:
      break;
  }
  state_[seq] = to;
}

Status WaitingRoom::enter(Ticket t, std::int64_t now_ms) {
  if (t.pre && !open_) return Error(Errc::not_ready, "the sale has not opened yet; keep waiting");
  auto seq = seq_of(t);
  if (!seq) return Error(Errc::not_in_queue, "no such place in this queue");
  last_seen_s_[*seq] = now_s(now_ms);
  switch (state_[*seq]) {
    case PlaceState::ready:
      if (!admission_shown(*seq)) return enter_refused(PlaceState::waiting);
      set_state(*seq, PlaceState::entered, now_ms);
      entered_deadlines_.push_back({now_ms + s_.reservation_ttl_ms, *seq});
      return {};
    case PlaceState::entered:
      return {};  // asking again re-issues the token
    default:
      return enter_refused(state_[*seq]);
  }
}

Status WaitingRoom::consume(Ticket t, std::int64_t now_ms) {
  auto seq = seq_of(t);
  if (!seq) return Error(Errc::reservation_token_invalid, "no such place in this queue");
  switch (state_[*seq]) {
    case PlaceState::ready:
      // Admitted before a restart: the fan may have entered (the caller checked the token's
      // signature) while the crash came before the enter was stored.
      if (*seq > restored_serving_) return consume_refused(PlaceState::ready);
      [[fallthrough]];
    case PlaceState::entered:
      set_state(*seq, PlaceState::consumed, now_ms);
      consumed_deadlines_.push_back({now_ms + s_.buyer_timeout_ms, *seq});
      return {};
    default:
      return consume_refused(state_[*seq]);
  }
}

void WaitingRoom::finish(Ticket t) {
  auto seq = seq_of(t);
  if (!seq) return;
  if (is_active_buyer(state_[*seq])) set_state(*seq, PlaceState::finished, last_tick_ms_);
}

void WaitingRoom::leave(Ticket t, std::int64_t now_ms) {
  if (t.pre && !open_) {
    if (t.index < pre_state_.size() && pre_state_[t.index] == PlaceState::waiting) {
      pre_state_[t.index] = PlaceState::left;
      --counters_.pre_queue;
      ++counters_.left_total;
      record(t, PlaceState::left, now_ms);
    }
    return;
  }
  auto seq = seq_of(t);
  if (!seq) return;
  // A buyer holding seats is finished by the reservation's end, not by leaving the line.
  if (keeps_place_on_join(state_[*seq])) set_state(*seq, PlaceState::left, now_ms);
}

void WaitingRoom::open_sale(std::int64_t now_ms) {
  open_ = true;
  opened_at_ms_ = now_ms;
  counters_.open = true;
  if (s_.journal) {
    opening_settled_ = false;
    pending_.opened = true;
  }
  // Everyone who came early is shuffled (Fisher-Yates over a CSPRNG-seeded engine) and placed
  // ahead of later arrivals: refreshing early gives no edge.
  std::vector<std::uint32_t> order(pre_state_.size());
  std::iota(order.begin(), order.end(), 0u);
  for (std::size_t i = order.size(); i > 1; --i) {
    std::uniform_int_distribution<std::size_t> pick(0, i - 1);
    std::swap(order[i - 1], order[pick(rng_)]);
  }
  pre_seq_.assign(pre_state_.size(), 0);
  for (std::uint32_t ticket : order) {
    std::uint32_t seq = append_place(now_ms);
    last_seen_s_[seq] = pre_last_seen_s_[ticket];
    pre_seq_[ticket] = seq;
    if (pre_state_[ticket] != PlaceState::waiting) {
      // Left before opening: the place exists but was already given up (counted then).
      waiting_.add(seq, -1);
      --counters_.waiting;
      state_[seq] = pre_state_[ticket];
    }
  }
  counters_.pre_queue = 0;
  pre_state_.clear();
  pre_state_.shrink_to_fit();
  pre_last_seen_s_.clear();
  pre_last_seen_s_.shrink_to_fit();
  last_tick_ms_ = now_ms;
  rate_window_start_ms_ = now_ms;
}

void WaitingRoom::admit(std::int64_t now_ms) {
  double dt = static_cast<double>(now_ms - last_tick_ms_) / 1000.0;
  last_tick_ms_ = now_ms;
  budget_ = std::min(budget_ + s_.admission_rate * dt, std::max(1.0, s_.admission_rate));  // at most 1 s burst
  while (budget_ >= 1.0 && counters_.active_buyers < s_.active_buyer_cap && serving_ + 1 < state_.size()) {
    auto seq = static_cast<std::uint32_t>(++serving_);
    if (state_[seq] != PlaceState::waiting) continue;  // gone places cost nothing
    set_state(seq, PlaceState::ready, now_ms);
    ready_deadlines_.push_back({now_ms + s_.entry_window_ms, seq});
    budget_ -= 1.0;
    ++counters_.admitted_total;
    ++rate_window_admitted_;
  }
  if (counters_.waiting == 0 || counters_.active_buyers >= s_.active_buyer_cap) {
    budget_ = std::min(budget_, 1.0);  // no saving up while nobody can be let in
  }
  // Smoothed admission rate over 1 s windows (EWMA, alpha 0.3).
  if (now_ms - rate_window_start_ms_ >= 1000) {
    double window =
        static_cast<double>(rate_window_admitted_) * 1000.0 / static_cast<double>(now_ms - rate_window_start_ms_);
    measured_rate_ = has_rate_history_ ? 0.7 * measured_rate_ + 0.3 * window : window;
    has_rate_history_ = has_rate_history_ || rate_window_admitted_ > 0;
    rate_window_start_ms_ = now_ms;
    rate_window_admitted_ = 0;
  }
}

void WaitingRoom::sweep_abandoned(std::int64_t now_ms) {
  const std::int64_t limit_s = s_.abandon_after_ms / 1000;
  const std::int64_t now = now_s(now_ms);
  // Signed: a poll stamped a moment after this sweep read the clock counts as fresh.
  auto stale = [&](std::uint32_t last_seen) { return now - static_cast<std::int64_t>(last_seen) > limit_s; };
  if (!open_) {
    for (std::size_t i = 0; i < pre_state_.size(); ++i) {
      if (pre_state_[i] == PlaceState::waiting && stale(pre_last_seen_s_[i])) {
        pre_state_[i] = PlaceState::abandoned;
        --counters_.pre_queue;
        ++counters_.abandoned_total;
        record(Ticket{true, static_cast<std::uint32_t>(i)}, PlaceState::abandoned, now_ms);
      }
    }
    return;
  }
  for (std::size_t seq = serving_ + 1; seq < state_.size(); ++seq) {
    if (state_[seq] == PlaceState::waiting && stale(last_seen_s_[seq])) {
      set_state(static_cast<std::uint32_t>(seq), PlaceState::abandoned, now_ms);
    }
  }
}

void WaitingRoom::sweep_lapses(std::int64_t now_ms) {
  auto drain = [&](std::deque<Deadline>& q, PlaceState expected) {
    while (!q.empty() && q.front().at_ms <= now_ms) {
      auto seq = q.front().seq;
      q.pop_front();
      if (state_[seq] == expected) {
        set_state(seq, expected == PlaceState::consumed ? PlaceState::finished : PlaceState::lapsed, now_ms);
      }
    }
  };
  drain(ready_deadlines_, PlaceState::ready);
  drain(entered_deadlines_, PlaceState::entered);
  drain(consumed_deadlines_, PlaceState::consumed);
}

void WaitingRoom::tick(std::int64_t now_ms) {
  if (!open_ && now_ms >= sale_start_ms_) open_sale(now_ms);
  // Abandonment has a resolution of one second; sweeping more often buys nothing.
  if (now_ms - last_sweep_ms_ >= 1000) {
    sweep_abandoned(now_ms);
    last_sweep_ms_ = now_ms;
  }
  if (!open_) {
    last_tick_ms_ = now_ms;
    return;
  }
  sweep_lapses(now_ms);
  admit(now_ms);
}

WaitingRoomStats WaitingRoom::stats() const {
  auto s = counters_;
  s.serving = serving_;
  s.measured_rate = measured_rate_;
  const auto next = serving_ + 1;
  if (open_ && counters_.waiting > 0 && next < state_.size()) {
    auto it = std::upper_bound(arrivals_.begin(), arrivals_.end(), next,
                               [](std::uint64_t seq, const Arrival& a) { return seq < a.seq; });
    if (it != arrivals_.begin()) s.next_arrived_ms = std::prev(it)->at_ms;
  }
  return s;
}

double WaitingRoom::eta_rate() const {
  return has_rate_history_ && measured_rate_ > 0.01 ? measured_rate_ : s_.admission_rate;
}

PendingChanges WaitingRoom::take_pending() {
  PendingChanges p = std::move(pending_);
  pending_ = PendingChanges{};
  p.serving = serving_;
  return p;
}

void WaitingRoom::settle(const PendingChanges& p) {
  for (auto seq : p.departed) waiting_.add(seq, -1);
  settled_serving_ = std::max(settled_serving_, p.serving);
  if (p.opened) opening_settled_ = true;
}

void WaitingRoom::restore_pending(PendingChanges p) {
  p.changes.insert(p.changes.end(), pending_.changes.begin(), pending_.changes.end());
  p.departed.insert(p.departed.end(), pending_.departed.begin(), pending_.departed.end());
  p.opened = p.opened || pending_.opened;
  pending_ = std::move(p);
}

void WaitingRoom::adopt(std::uint64_t user_key, Ticket t) {
  auto it = by_user_.find(user_key);
  if (it != by_user_.end() && it->second != t) {
    auto v = peek(it->second);
    if (v && keeps_place_on_join(v->state)) return;  // joined again since: that place stands
  }
  by_user_[user_key] = t;
}

WaitingRoom WaitingRoom::restore(WaitingRoomSettings settings, std::int64_t sale_starts_at_ms, std::int64_t created_ms,
                                 std::uint64_t shuffle_seed, const StoredRoom& stored, std::int64_t now_ms) {
  const bool journal = settings.journal;
  settings.journal = false;  // rebuilding is not a change to store again
  WaitingRoom r(settings, sale_starts_at_ms, created_ms, shuffle_seed);
  r.open_ = false;
  r.counters_.open = false;
  const auto seen = r.now_s(now_ms);  // nobody is abandoned for the time the process was down
  r.pre_state_.assign(stored.pre_issued, PlaceState::waiting);
  r.pre_last_seen_s_.assign(stored.pre_issued, seen);
  r.pre_issued_ = stored.pre_issued;
  r.counters_.pre_queue = stored.pre_issued;
  for (const auto& c : stored.places) {
    if (!c.ticket.pre || c.ticket.index >= r.pre_state_.size() || r.pre_state_[c.ticket.index] != PlaceState::waiting) {
      continue;
    }
    r.pre_state_[c.ticket.index] = c.state;  // gone before the opening
    --r.counters_.pre_queue;
  }
  std::vector<Deadline> ready, entered, consumed;
  if (stored.opened) {
    r.open_sale(stored.opened_at_ms);  // the same seed draws the same order
    while (r.state_.size() <= stored.seq_issued) r.append_place(now_ms);
    for (auto& seen_s : r.last_seen_s_) seen_s = seen;
    for (const auto& c : stored.places) {
      if (c.ticket.pre) continue;
      auto seq = r.seq_of(c.ticket);
      if (!seq) continue;
      r.set_state(*seq, c.state, c.at_ms);
      if (c.state == PlaceState::ready) ready.push_back({c.at_ms + r.s_.entry_window_ms, *seq});
      if (c.state == PlaceState::entered) entered.push_back({c.at_ms + r.s_.reservation_ttl_ms, *seq});
    }
    for (const auto& u : stored.uses) {
      auto seq = r.seq_of(u.ticket);
      if (!seq) continue;
      r.set_state(*seq, u.live ? PlaceState::consumed : PlaceState::finished, u.at_ms);
      if (u.live) consumed.push_back({u.at_ms + r.s_.buyer_timeout_ms, *seq});
    }
  }
  auto by_time = [](const Deadline& a, const Deadline& b) { return a.at_ms < b.at_ms; };
  for (auto* v : {&ready, &entered, &consumed}) std::sort(v->begin(), v->end(), by_time);
  r.ready_deadlines_.assign(ready.begin(), ready.end());
  r.entered_deadlines_.assign(entered.begin(), entered.end());
  r.consumed_deadlines_.assign(consumed.begin(), consumed.end());
  r.serving_ = stored.serving;
  r.settled_serving_ = stored.serving;
  r.restored_serving_ = stored.serving;
  r.counters_.joined_total = stored.totals.joined_total;
  r.counters_.admitted_total = stored.totals.admitted_total;
  r.counters_.abandoned_total = stored.totals.abandoned_total;
  r.counters_.left_total = stored.totals.left_total;
  r.counters_.lapsed_total = stored.totals.lapsed_total;
  r.counters_.finished_total = stored.totals.finished_total;
  r.last_tick_ms_ = now_ms;
  r.last_sweep_ms_ = now_ms;
  r.rate_window_start_ms_ = now_ms;
  r.s_.journal = journal;
  return r;
}

std::size_t WaitingRoom::memory_bytes() const {
  return state_.capacity() * sizeof(PlaceState) + last_seen_s_.capacity() * sizeof(std::uint32_t) +
         waiting_.memory_bytes() + arrivals_.capacity() * sizeof(Arrival) + pre_state_.capacity() * 5 +
         pre_seq_.capacity() * 4 + by_user_.size() * (sizeof(std::uint64_t) + sizeof(Ticket) + 16) +
         by_user_.bucket_count() * sizeof(void*);
}

}  // namespace tacos::domain

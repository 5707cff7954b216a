#include "domain/waiting_room.hpp"

#include <algorithm>
#include <numeric>

namespace tacos::domain {

std::string_view to_string(PlaceState s) {
  switch (s) {
    case PlaceState::waiting: return "waiting";
    case PlaceState::ready: return "ready";
    case PlaceState::entered: return "entered";
    case PlaceState::consumed: return "consumed";
    case PlaceState::finished: return "finished";
    case PlaceState::left: return "left";
    case PlaceState::abandoned: return "abandoned";
    case PlaceState::lapsed: return "lapsed";
  }
  return "waiting";
}

bool holds_place(PlaceState s) {
  return s == PlaceState::waiting || s == PlaceState::ready || s == PlaceState::entered ||
         s == PlaceState::consumed;
}

namespace {
bool is_active_buyer(PlaceState s) {
  return s == PlaceState::ready || s == PlaceState::entered || s == PlaceState::consumed;
}
Error place_gone(PlaceState s) {
  switch (s) {
    case PlaceState::left: return Error(Errc::place_lost, "you left the queue; join again for a new place");
    case PlaceState::abandoned:
      return Error(Errc::place_lost, "your place was released because the page stopped checking in; join again");
    case PlaceState::lapsed:
      return Error(Errc::place_lost, "your turn passed without entering in time; join again");
    case PlaceState::finished: return Error(Errc::place_lost, "this place in line has been used; join again");
    default: return Error(Errc::internal, "unexpected place state");
  }
}
}  // namespace

WaitingRoom::WaitingRoom(WaitingRoomSettings settings, std::int64_t sale_starts_at_ms, std::int64_t created_ms,
                         std::uint64_t shuffle_seed)
    : s_(settings), sale_start_ms_(sale_starts_at_ms), created_ms_(created_ms), rng_(shuffle_seed) {
  last_tick_ms_ = created_ms;
  last_sweep_ms_ = created_ms;
  rate_window_start_ms_ = created_ms;
  open_ = created_ms >= sale_starts_at_ms;
  counters_.open = open_;
}

std::uint32_t WaitingRoom::append_place(std::int64_t now_ms) {
  auto seq = static_cast<std::uint32_t>(state_.size());
  state_.push_back(PlaceState::waiting);
  last_seen_s_.push_back(now_s(now_ms));
  waiting_.add(seq, 1);
  ++counters_.waiting;
  return seq;
}

WaitingRoom::Joined WaitingRoom::join(std::uint64_t user_key, std::int64_t now_ms) {
  if (!open_ && now_ms >= sale_start_ms_) open_sale(now_ms);
  auto it = by_user_.find(user_key);
  if (it != by_user_.end()) {
    auto v = peek(it->second);
    if (v && holds_place(v->state)) {
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
  if (v.state == PlaceState::waiting) v.position = waiting_.prefix(*seq - 1);
  else if (is_active_buyer(v.state)) v.position = 0;
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

void WaitingRoom::set_state(std::uint32_t seq, PlaceState to) {
  PlaceState from = state_[seq];
  if (from == to) return;
  if (from == PlaceState::waiting) {
    waiting_.add(seq, -1);
    --counters_.waiting;
  }
  if (is_active_buyer(from) && !is_active_buyer(to)) --counters_.active_buyers;
  if (!is_active_buyer(from) && is_active_buyer(to)) ++counters_.active_buyers;
  switch (to) {
    case PlaceState::left: ++counters_.left_total; break;
    case PlaceState::abandoned: ++counters_.abandoned_total; break;
    case PlaceState::lapsed: ++counters_.lapsed_total; break;
    case PlaceState::finished: ++counters_.finished_total; break;
    default: break;
  }
  state_[seq] = to;
}

Status WaitingRoom::enter(Ticket t, std::int64_t now_ms) {
  if (t.pre && !open_) return Error(Errc::not_ready, "the sale has not opened yet; keep waiting");
  auto seq = seq_of(t);
  if (!seq) return Error(Errc::not_in_queue, "no such place in this queue");
  last_seen_s_[*seq] = now_s(now_ms);
  switch (state_[*seq]) {
    case PlaceState::waiting: return Error(Errc::not_ready, "it is not your turn yet; keep waiting");
    case PlaceState::ready:
      set_state(*seq, PlaceState::entered);
      entered_deadlines_.push_back({now_ms + s_.reservation_ttl_ms, *seq});
      return {};
    case PlaceState::entered: return {};  // asking again re-issues the token
    case PlaceState::consumed:
      return Error(Errc::token_used, "your entry has already been used to hold seats");
    default: return place_gone(state_[*seq]);
  }
}

Status WaitingRoom::consume(Ticket t, std::int64_t now_ms) {
  auto seq = seq_of(t);
  if (!seq) return Error(Errc::reservation_token_invalid, "no such place in this queue");
  switch (state_[*seq]) {
    case PlaceState::entered:
      set_state(*seq, PlaceState::consumed);
      consumed_deadlines_.push_back({now_ms + s_.buyer_timeout_ms, *seq});
      return {};
    case PlaceState::consumed:
    case PlaceState::finished:
      return Error(Errc::token_used, "this reservation token has already been used");
    case PlaceState::lapsed: return Error(Errc::reservation_token_expired, "this reservation token has expired");
    default: return Error(Errc::reservation_token_invalid, "this place in line cannot hold seats now");
  }
}

void WaitingRoom::finish(Ticket t) {
  auto seq = seq_of(t);
  if (!seq) return;
  if (is_active_buyer(state_[*seq])) set_state(*seq, PlaceState::finished);
}

void WaitingRoom::leave(Ticket t) {
  if (t.pre && !open_) {
    if (t.index < pre_state_.size() && pre_state_[t.index] == PlaceState::waiting) {
      pre_state_[t.index] = PlaceState::left;
      --counters_.pre_queue;
      ++counters_.left_total;
    }
    return;
  }
  auto seq = seq_of(t);
  if (!seq) return;
  if (holds_place(state_[*seq])) set_state(*seq, PlaceState::left);
}

void WaitingRoom::open_sale(std::int64_t now_ms) {
  open_ = true;
  counters_.open = true;
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
    set_state(seq, PlaceState::ready);
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
    double window = static_cast<double>(rate_window_admitted_) * 1000.0 /
                    static_cast<double>(now_ms - rate_window_start_ms_);
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
      }
    }
    return;
  }
  for (std::size_t seq = serving_ + 1; seq < state_.size(); ++seq) {
    if (state_[seq] == PlaceState::waiting && stale(last_seen_s_[seq])) {
      set_state(static_cast<std::uint32_t>(seq), PlaceState::abandoned);
    }
  }
}

void WaitingRoom::sweep_lapses(std::int64_t now_ms) {
  auto drain = [&](std::deque<Deadline>& q, PlaceState expected) {
    while (!q.empty() && q.front().at_ms <= now_ms) {
      auto seq = q.front().seq;
      q.pop_front();
      if (state_[seq] == expected) set_state(seq, expected == PlaceState::consumed ? PlaceState::finished : PlaceState::lapsed);
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
  return s;
}

double WaitingRoom::eta_rate() const {
  return has_rate_history_ && measured_rate_ > 0.01 ? measured_rate_ : s_.admission_rate;
}

std::size_t WaitingRoom::memory_bytes() const {
  return state_.capacity() * sizeof(PlaceState) + last_seen_s_.capacity() * sizeof(std::uint32_t) +
         waiting_.memory_bytes() + pre_state_.capacity() * 5 + pre_seq_.capacity() * 4 +
         by_user_.size() * (sizeof(std::uint64_t) + sizeof(Ticket) + 16) + by_user_.bucket_count() * sizeof(void*);
}

}  // namespace tacos::domain

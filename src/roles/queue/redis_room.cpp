#include "roles/queue/redis_room.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include "roles/queue/service.hpp"

namespace tacos::queue {

using domain::PlaceState;
using domain::Ticket;

namespace {

// Shared by every script: the keys, the settings (ARGV[1..10], which make the room if it is
// missing), and the steps several scripts take. Each script's own arguments start at ARGV[11].
constexpr const char* kPrelude = R"lua(
local meta, users, st, pst, lp, gone, dl, lease, pp, arr =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local function num(k) return tonumber(redis.call('HGET', meta, k) or '0') end
local function incr(k, by) return redis.call('HINCRBY', meta, k, by or 1) end
if redis.call('EXISTS', meta) == 0 then
  redis.call('HSET', meta, 'sale_start', ARGV[1], 'created', ARGV[2], 'rate', ARGV[3], 'cap', ARGV[4],
    'abandon', ARGV[5], 'entry', ARGV[6], 'reservation', ARGV[7], 'buyer', ARGV[8], 'seed', ARGV[9],
    'epoch', ARGV[10], 'last_tick', ARGV[2], 'budget', 0)
end
local NO_POLL = string.rep('\0', 8)
-- One byte per place in a string: its state letter, '\0' (or past the end) while it waits.
local function byte_at(key, i)
  local b = redis.call('GETRANGE', key, i, i)
  if b == '' or b == '\0' then return nil end
  return b
end
-- Eight bytes per place: when it last polled (a double, ms), NO_POLL once it no longer waits.
local function touch(key, i, now) redis.call('SETRANGE', key, i * 8, struct.pack('>d', math.max(now, 1))) end
local function untouch(key, i) redis.call('SETRANGE', key, i * 8, NO_POLL) end
-- The pre-queue's shuffle: a permutation of 0..pre-1 keyed by the room's seed (a four-round
-- Feistel network on the smallest even power of two that holds them, cycle-walked into range),
-- computed for one place when asked, so the opening writes nothing per place and costs the same
-- for ten places or a million. inverse: from a place in line back to its pre-queue ticket.
local function mix(v, round)
  local h = (v + num('seed') * round + round) % 2147483646 + 1
  h = (h * 48271) % 2147483647
  h = bit.bxor(h, bit.rshift(h, 15))
  return (h * 48271) % 2147483647
end
local function shuffle(x, inverse)
  local n, bits = num('pre'), 2
  while 2 ^ bits < n do bits = bits + 2 end
  local half = 2 ^ (bits / 2)
  repeat
    local l, r = math.floor(x / half), x % half
    if inverse then
      for round = 4, 1, -1 do l, r = (r - mix(l, round)) % half, l end
    else
      for round = 1, 4 do l, r = r, (l + mix(r, round)) % half end
    end
    x = l * half + r
  until x < n
  return x
end
-- Where a seq's state and last poll live: the pre-queue's strings (by ticket) for the seqs the
-- opening gave the pre-queue, else st and lp (by seq).
local function where(s)
  if num('open') == 1 then
    local off = s - num('pre_base') - 1
    if off >= 0 and off < num('pre') then return pst, pp, shuffle(off, true) end
  end
  return st, lp, s
end
local function state(s)
  local key, _, i = where(s)
  return byte_at(key, i) or 'w'
end
local function set_state(s, to)
  local key, _, i = where(s)
  redis.call('SETRANGE', key, i, to)
end
local function touch_seq(s, now)
  local _, key, i = where(s)
  touch(key, i, now)
end
local function untouch_seq(s)
  local _, key, i = where(s)
  untouch(key, i)
end
local function parse(t) return string.sub(t, 1, 1), tonumber(string.sub(t, 2)) end
-- "<epoch>:<ticket>", as a token names a place: the ticket, or nil when the token is of an
-- earlier incarnation of the room (made again after Redis lost it: its seqs are handed out anew).
local function ticket_of(arg)
  local e, t = string.match(arg, '^(%d+):(.+)$')
  if e == nil or e ~= redis.call('HGET', meta, 'epoch') then return nil end
  return t
end
-- A pre-queue ticket before the opening: its index; else nil.
local function pre_open(t)
  local kind, i = parse(t)
  if kind == 'p' and i ~= nil and num('open') == 0 and i >= 0 and i < num('pre') then return i end
  return nil
end
-- The seq of a ticket, or nil (no such place; a pre-queue ticket before the opening).
local function seq_of(t)
  local kind, i = parse(t)
  if i == nil then return nil end
  if kind == 's' then
    if i >= 1 and i <= num('seq') then return i end
    return nil
  end
  if kind ~= 'p' or num('open') == 0 or i < 0 or i >= num('pre') then return nil end
  return num('pre_base') + 1 + shuffle(i, false)
end
-- A waiting place leaves the line: it stops counting in the positions of those behind it.
local function depart(s, to)
  set_state(s, to)
  untouch_seq(s)
  if s > num('serving') then redis.call('ZADD', gone, s, s) end
  incr('waiting', -1)
end
-- An active buyer (ready, entered or buying) stops being one: a slot of the cap is free.
local function release(s, to)
  set_state(s, to)
  redis.call('ZREM', dl, 'r' .. s, 'e' .. s, 'c' .. s)
  incr('active', -1)
end
-- Dates seq s (joined at `now`) if it is the first of its second: arrivals are in seq order, so
-- `arr` (score seq, member the time in ms) dates every place to the second.
local function arrived(s, now)
  local sec = math.floor(now / 1000)
  if sec <= num('arr_s') then return end
  redis.call('ZADD', arr, s, string.format('%d', now))
  redis.call('HSET', meta, 'arr_s', sec)
end
-- The opening: the pre-queue takes the next seqs, in its shuffled order, ahead of every later
-- arrival; refreshing early gives no edge. The pre-queue places that left before it are added to
-- `gone` by the ticks that follow (a slice each): until then a position may count one of them,
-- which only makes it fall later, never rise.
local function open_sale(now)
  local base = num('seq')
  redis.call('HSET', meta, 'open', 1, 'opened_at', now, 'last_tick', now, 'pre_base', base,
    'seq', base + num('pre'), 'pre_gone', 0)
  if num('pre') > 0 then arrived(base + 1, now) end
  incr('waiting', num('pre_queue'))
  redis.call('HSET', meta, 'pre_queue', 0)
end
local function open_if_due(now)
  if num('open') == 0 and now >= num('sale_start') then open_sale(now) end
end
)lua";

kv::Script script(const char* body) { return kv::Script(std::string(kPrelude) + body); }

// ARGV[11] user key, ARGV[12] now. Returns {ticket, existing (0|1), epoch}.
const kv::Script kJoin = script(R"lua(
local user, now = ARGV[11], tonumber(ARGV[12])
open_if_due(now)
local t = redis.call('HGET', users, user)
if t then
  local i = pre_open(t)
  if i then
    if not byte_at(pst, i) then
      touch(pp, i, now)
      return {t, 1, redis.call('HGET', meta, 'epoch')}
    end
  else
    local s = seq_of(t)
    local was = s and state(s)
    if was == 'w' then touch_seq(s, now) end
    if was == 'w' or was == 'r' or was == 'e' then return {t, 1, redis.call('HGET', meta, 'epoch')} end
  end
end
if num('open') == 0 then
  local i = incr('pre') - 1
  t = 'p' .. i
  incr('pre_queue')
  touch(pp, i, now)
else
  local s = incr('seq')
  t = 's' .. s
  arrived(s, now)
  incr('waiting')
  touch(lp, s, now)
end
redis.call('HSET', users, user, t)
incr('joined_total')
return {t, 0, redis.call('HGET', meta, 'epoch')}
)lua");

// ARGV[11] epoch:ticket, ARGV[12] now. Returns {} (no such place), {'reset'}, {state} or
// {'w', position}.
const kv::Script kPoll = script(R"lua(
local t, now = ticket_of(ARGV[11]), tonumber(ARGV[12])
if not t then return {'reset'} end
local i = pre_open(t)
if i then
  local was = byte_at(pst, i)
  if was then return {was} end
  touch(pp, i, now)
  return {'w'}
end
local s = seq_of(t)
if not s then return {} end
local was = state(s)
if was ~= 'w' then return {was} end
touch_seq(s, now)
local serving = num('serving')
return {'w', s - serving - 1 - redis.call('ZCOUNT', gone, serving + 1, s - 1)}
)lua");

// ARGV[11] epoch:ticket, ARGV[12] now. Returns the state found ('' no such place, 'p' before the
// opening, 'reset'); ready becomes entered.
const kv::Script kEnter = script(R"lua(
local t, now = ticket_of(ARGV[11]), tonumber(ARGV[12])
if not t then return 'reset' end
if pre_open(t) then return 'p' end
local s = seq_of(t)
if not s then return '' end
local was = state(s)
if was == 'w' then touch_seq(s, now) end
if was == 'r' then
  set_state(s, 'e')
  redis.call('ZREM', dl, 'r' .. s)
  redis.call('ZADD', dl, now + num('reservation'), 'e' .. s)
end
return was
)lua");

// ARGV[11] epoch:ticket, ARGV[12] now. Returns the state found; entered becomes consumed.
const kv::Script kConsume = script(R"lua(
local t, now = ticket_of(ARGV[11]), tonumber(ARGV[12])
if not t then return '' end
local s = seq_of(t)
if not s then return '' end
local was = state(s)
if was == 'e' then
  set_state(s, 'c')
  redis.call('ZREM', dl, 'e' .. s)
  redis.call('ZADD', dl, now + num('buyer'), 'c' .. s)
end
return was
)lua");

// ARGV[11] epoch:ticket. An active buyer is finished.
const kv::Script kFinish = script(R"lua(
local t = ticket_of(ARGV[11])
if not t then return '' end
local s = seq_of(t)
if not s then return '' end
local was = state(s)
if was == 'r' or was == 'e' or was == 'c' then
  release(s, 'f')
  incr('finished_total')
end
return was
)lua");

// ARGV[11] epoch:ticket. Leaves the line, or gives up an admission not yet used; buyers stay.
const kv::Script kLeave = script(R"lua(
local t = ticket_of(ARGV[11])
if not t then return 0 end
local i = pre_open(t)
if i then
  if not byte_at(pst, i) then
    redis.call('SETRANGE', pst, i, 'l')
    untouch(pp, i)
    incr('pre_queue', -1)
    incr('left_total')
  end
  return 1
end
local s = seq_of(t)
if not s then return 0 end
local was = state(s)
if was == 'w' then
  depart(s, 'l')
  incr('left_total')
elseif was == 'r' or was == 'e' then
  release(s, 'l')
  incr('left_total')
end
return 1
)lua");

// ARGV[11] owner, ARGV[12] now, ARGV[13] lease (ms). Returns 0 when another replica ticks.
// Abandonment looks at a slice of places per tick (SLICE of the pre-queue's and SLICE of the
// later arrivals', from cursors kept in meta), so a tick costs the same with ten places or a
// million: a place is released within one pass (a million places: ~1000 ticks) after abandon_after.
const kv::Script kTick = script(R"lua(
local owner, now = ARGV[11], tonumber(ARGV[12])
local holder = redis.call('GET', lease)
if holder and holder ~= owner then return 0 end
redis.call('SET', lease, owner, 'PX', ARGV[13])
open_if_due(now)
local SLICE, limit = 1024, now - num('abandon')
-- Calls abandon(i) for each index in [from, to) of `polls` whose last poll is before the limit.
local function sweep(polls, from, to, abandon)
  if from >= to then return end
  local chunk = redis.call('GETRANGE', polls, from * 8, to * 8 - 1)
  for i = from, to - 1 do
    local off = (i - from) * 8 + 1
    if off + 7 > #chunk then break end
    local at = struct.unpack('>d', chunk, off)
    if at > 0 and at < limit then abandon(i) end
  end
end
local open, pre = num('open') == 1, num('pre')
local from = num('pre_sweep')  -- the pre-queue's places, a slice per tick, wrapping around
if from >= pre then from = 0 end
local to = math.min(pre, from + SLICE)
redis.call('HSET', meta, 'pre_sweep', to)
sweep(pp, from, to, function(i)
  if not open then
    if byte_at(pst, i) then return end
    redis.call('SETRANGE', pst, i, 'a')
    untouch(pp, i)
    incr('pre_queue', -1)
  else
    local s = num('pre_base') + 1 + shuffle(i, false)
    if state(s) ~= 'w' then return untouch(pp, i) end
    depart(s, 'a')
  end
  incr('abandoned_total')
end)
if not open then
  redis.call('HSET', meta, 'last_tick', now)
  return 1
end
-- The pre-queue places that left before the opening join `gone`, a slice per tick.
local done = num('pre_gone')
if done < pre then
  local upto = math.min(pre, done + 4 * SLICE)
  local states, serving, members = redis.call('GETRANGE', pst, done, upto - 1), num('serving'), {}
  for at in string.gmatch(states, '()[^%z]') do
    local s = num('pre_base') + 1 + shuffle(done + at - 1, false)
    if s > serving then
      members[#members + 1] = s
      members[#members + 1] = s
    end
    if #members >= 1000 then  -- unpack() has a limit (Lua's C stack): ZADD in batches
      redis.call('ZADD', gone, unpack(members))
      members = {}
    end
  end
  if #members > 0 then redis.call('ZADD', gone, unpack(members)) end
  redis.call('HSET', meta, 'pre_gone', upto)
end
do  -- the later arrivals still in line: from the first seq not yet admitted
  local seq = num('seq')
  local first = math.max(num('pre_base') + pre, num('serving')) + 1
  local from = math.max(num('sweep'), first)
  if from > seq then from = first end
  local to = math.min(seq + 1, from + SLICE)
  redis.call('HSET', meta, 'sweep', to)
  sweep(lp, from, to, function(s)
    if state(s) ~= 'w' then return untouch(lp, s) end
    depart(s, 'a')
    incr('abandoned_total')
  end)
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', dl, '-inf', now, 'LIMIT', 0, 1000)) do
  local s = tonumber(string.sub(m, 2))
  if string.sub(m, 1, 1) == 'c' then
    release(s, 'f')
    incr('finished_total')
  else
    release(s, 'x')
    incr('lapsed_total')
  end
end
local rate, cap = tonumber(redis.call('HGET', meta, 'rate')), num('cap')
local dt = math.max(0, now - num('last_tick')) / 1000
local budget = math.min(tonumber(redis.call('HGET', meta, 'budget') or '0') + rate * dt, math.max(1, rate))
local serving, seq, active, admitted = num('serving'), num('seq'), num('active'), 0
while budget >= 1 and active < cap and serving < seq do
  serving = serving + 1
  if state(serving) == 'w' then
    set_state(serving, 'r')
    untouch_seq(serving)
    redis.call('ZADD', dl, now + num('entry'), 'r' .. serving)
    budget = budget - 1
    active = active + 1
    admitted = admitted + 1
  end
end
if admitted > 0 then
  incr('admitted_total', admitted)
  incr('waiting', -admitted)
end
if num('waiting') == 0 or active >= cap then budget = math.min(budget, 1) end
redis.call('HSET', meta, 'serving', serving, 'active', active, 'last_tick', now,
  'budget', string.format('%.17g', budget))
redis.call('ZREMRANGEBYSCORE', gone, '-inf', serving)
local next_dated = redis.call('ZREVRANGEBYSCORE', arr, serving + 1, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
if next_dated[2] then redis.call('ZREMRANGEBYSCORE', arr, '-inf', '(' .. next_dated[2]) end
return 1
)lua");

// The meta hash, and `next_arrived` (when the place next in line joined) while people wait.
const kv::Script kStats = script(R"lua(
local out = redis.call('HGETALL', meta)
local next = num('serving') + 1
if num('open') == 1 and num('waiting') > 0 and next <= num('seq') then
  local dated = redis.call('ZREVRANGEBYSCORE', arr, next, '-inf', 'LIMIT', 0, 1)
  if dated[1] then
    out[#out + 1] = 'next_arrived'
    out[#out + 1] = dated[1]
  end
end
return out
)lua");
const kv::Script kEpoch = script("return redis.call('HGET', meta, 'epoch')");
const kv::Script kLimits = script("return redis.call('HMGET', meta, 'rate', 'cap')");

// ARGV[11] rate ('' keeps it), ARGV[12] cap ('' keeps it).
const kv::Script kConfigure = script(R"lua(
if ARGV[11] ~= '' then redis.call('HSET', meta, 'rate', ARGV[11]) end
if ARGV[12] ~= '' then redis.call('HSET', meta, 'cap', ARGV[12]) end
return 1
)lua");

std::optional<PlaceState> state_of(std::string_view letter) {
  if (letter.size() != 1) return std::nullopt;
  switch (letter[0]) {
    case 'w':
      return PlaceState::waiting;
    case 'r':
      return PlaceState::ready;
    case 'e':
      return PlaceState::entered;
    case 'c':
      return PlaceState::consumed;
    case 'f':
      return PlaceState::finished;
    case 'l':
      return PlaceState::left;
    case 'a':
      return PlaceState::abandoned;
    case 'x':
      return PlaceState::lapsed;
    default:
      return std::nullopt;
  }
}

// Mixed into the epoch a call would make the room with: a room made again after Redis lost it
// gets an epoch of its own, so the tokens of the lost one name nothing in it.
std::uint64_t fresh_epoch_bits() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng() >> 17;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string place_arg(const RedisRoom::Place& p) { return std::to_string(p.epoch) + ":" + encode_ticket(p.ticket); }

Error reset() { return Error(Errc::place_lost, "the waiting room lost its places (Redis restarted); join again"); }

Error unexpected(const kv::Reply& r) {
  return Error(Errc::unavailable, "redis: unexpected reply from the waiting room" + (r.is_error() ? ": " + r.str : ""));
}

// A script's error reply is an error here.
Result<kv::Reply> checked(Result<kv::Reply> reply) {
  if (reply && reply->is_error()) return unexpected(*reply);
  return reply;
}

// kPoll's reply: {} (no such place), {'reset'}, {state} or {'w', position}.
Result<std::optional<domain::WaitingRoom::View>> poll_answer(Result<kv::Reply> r) {
  if (!r) return r.error();
  if (r->elements.empty()) return std::optional<domain::WaitingRoom::View>{};
  if (r->elements[0].str == "reset") return reset();
  auto state = state_of(r->elements[0].str);
  if (!state) return unexpected(*r);
  domain::WaitingRoom::View v;
  v.state = *state;
  if (r->elements.size() > 1) v.position = r->elements[1].integer;
  // As in memory: an active buyer is at the front.
  if (v.state == PlaceState::ready || v.state == PlaceState::entered || v.state == PlaceState::consumed) v.position = 0;
  return std::optional<domain::WaitingRoom::View>{v};
}

}  // namespace

RedisRoom::RedisRoom(kv::Redis& redis, const std::string& prefix, const std::string& event_id,
                     RedisRoomSettings settings)
    : redis_(redis), s_(settings) {
  const std::string base = prefix + "{" + event_id + "}:";
  // KEYS[2] is the bucket of the joining user's key (join() sets it; other scripts do not use it).
  for (const char* name : {"meta", "u", "st", "pst", "lp", "gone", "dl", "lease", "pp", "arr"})
    keys_.push_back(base + name);
}

std::vector<std::string> RedisRoom::argv(std::vector<std::string> args) const {
  const auto& r = s_.room;
  std::vector<std::string> out{std::to_string(s_.sale_starts_at_ms),
                               std::to_string(s_.created_ms),
                               number(r.admission_rate),
                               std::to_string(r.active_buyer_cap),
                               std::to_string(r.abandon_after_ms),
                               std::to_string(r.entry_window_ms),
                               std::to_string(r.reservation_ttl_ms),
                               std::to_string(r.buyer_timeout_ms),
                               std::to_string(s_.shuffle_seed),
                               std::to_string(s_.epoch ^ fresh_epoch_bits())};
  out.insert(out.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return out;
}

Result<kv::Reply> RedisRoom::run(const kv::Script& s, std::vector<std::string> args, std::string users_key) {
  auto keys = keys_;
  if (!users_key.empty()) keys[1] = std::move(users_key);
  return checked(redis_.call_eval(s, std::move(keys), argv(std::move(args))));
}

Result<RedisRoom::Joined> RedisRoom::join(std::uint64_t user_key, std::int64_t now_ms) {
  // The key's 8 bytes as they are, not 20 digits: a million places take ~16 MB less.
  std::string key(sizeof user_key, '\0');
  std::memcpy(key.data(), &user_key, sizeof user_key);
  // Users live in kUserBuckets small hashes, not one big one: Redis keeps a hash of up to 128
  // short fields as a listpack (~20 bytes a user, against ~65 in a hash table), and a keyed hash
  // spreads users evenly (a million users: ~30 a bucket).
  auto bucket = keys_[1] + ":" + std::to_string(user_key % kUserBuckets);
  auto r = run(kJoin, {std::move(key), std::to_string(now_ms)}, std::move(bucket));
  if (!r) return r.error();
  if (r->elements.size() != 3) return unexpected(*r);
  auto t = decode_ticket(r->elements[0].str);
  if (!t) return unexpected(*r);
  return Joined{{*t, r->elements[1].integer == 1}, std::strtoull(r->elements[2].str.c_str(), nullptr, 10)};
}

Result<std::optional<domain::WaitingRoom::View>> RedisRoom::poll(Place p, std::int64_t now_ms) {
  return poll_answer(run(kPoll, {place_arg(p), std::to_string(now_ms)}));
}

void RedisRoom::poll_async(Place p, std::int64_t now_ms,
                           std::function<void(Result<std::optional<domain::WaitingRoom::View>>)> done) {
  redis_.eval(kPoll, keys_, argv({place_arg(p), std::to_string(now_ms)}),
              [done = std::move(done)](Result<kv::Reply> r) { done(poll_answer(checked(std::move(r)))); });
}

Status RedisRoom::enter(Place p, std::int64_t now_ms) {
  auto r = run(kEnter, {place_arg(p), std::to_string(now_ms)});
  if (!r) return r.error();
  const auto& was = r->str;
  if (was == "reset") return reset();
  if (was == "p") return Error(Errc::not_ready, "the sale has not opened yet; keep waiting");
  if (was.empty()) return Error(Errc::place_lost, "this place is no longer in the queue; join again");
  auto state = state_of(was);
  if (!state) return unexpected(*r);
  if (*state == PlaceState::ready || *state == PlaceState::entered) return {};
  return domain::enter_refused(*state);
}

Status RedisRoom::consume(Place p, std::int64_t now_ms) {
  auto r = run(kConsume, {place_arg(p), std::to_string(now_ms)});
  if (!r) return r.error();
  auto state = state_of(r->str);
  if (!state) return Error(Errc::not_in_queue, "no such place in this queue");
  if (*state == PlaceState::entered) return {};
  return domain::consume_refused(*state);
}

Status RedisRoom::finish(Place p) {
  auto r = run(kFinish, {place_arg(p)});
  return r ? Status() : Status(r.error());
}

Status RedisRoom::leave(Place p, std::int64_t) {
  auto r = run(kLeave, {place_arg(p)});
  return r ? Status() : Status(r.error());
}

Result<bool> RedisRoom::tick(const std::string& owner, std::int64_t now_ms, std::int64_t lease_ms) {
  auto r = run(kTick, {owner, std::to_string(now_ms), std::to_string(lease_ms)});
  if (!r) return r.error();
  return r->integer == 1;
}

Result<domain::WaitingRoomStats> RedisRoom::stats() {
  auto r = run(kStats, {});
  if (!r) return r.error();
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) m[r->elements[i].str] = r->elements[i + 1].str;
  auto get = [&m](const char* k) { return std::atoll(m[k].c_str()); };
  domain::WaitingRoomStats s;
  s.open = get("open") == 1;
  s.waiting = get("waiting");
  s.pre_queue = get("pre_queue");
  s.admitted_total = get("admitted_total");
  s.active_buyers = get("active");
  s.joined_total = get("joined_total");
  s.abandoned_total = get("abandoned_total");
  s.left_total = get("left_total");
  s.lapsed_total = get("lapsed_total");
  s.finished_total = get("finished_total");
  s.serving = static_cast<std::uint64_t>(get("serving"));
  s.next_arrived_ms = get("next_arrived");
  return s;
}

Result<std::pair<double, std::int64_t>> RedisRoom::limits() {
  auto r = run(kLimits, {});
  if (!r) return r.error();
  if (r->elements.size() != 2) return unexpected(*r);
  return std::make_pair(std::strtod(r->elements[0].str.c_str(), nullptr),
                        static_cast<std::int64_t>(std::atoll(r->elements[1].str.c_str())));
}

Result<std::uint64_t> RedisRoom::epoch() {
  auto r = run(kEpoch, {});
  if (!r) return r.error();
  return static_cast<std::uint64_t>(std::strtoull(r->str.c_str(), nullptr, 10));
}

Status RedisRoom::configure(std::optional<double> admission_rate, std::optional<std::int64_t> active_buyer_cap) {
  auto r = run(kConfigure, {admission_rate ? number(*admission_rate) : "",
                            active_buyer_cap ? std::to_string(*active_buyer_cap) : ""});
  return r ? Status() : Status(r.error());
}

}  // namespace tacos::queue

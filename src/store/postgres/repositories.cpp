#include "store/postgres/repositories.hpp"

#include <map>

#include "store/postgres/holds.hpp"

namespace tacos::store::pg {

// (GCC 12: parameters are built into named vectors before each co_await, never as braced
// temporaries inside the awaited expression.)

namespace {

constexpr const char* kUserCols = "id, username, email, display_name, password_hash, role, created_at_ms";
constexpr const char* kEventCols =
    "id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, currency, general_admission, "
    "created_at_ms, active_buyer_cap, max_seats_per_reservation, max_tickets_per_user";

const Statement kInsertSection{"tacos_insert_section",
                               "INSERT INTO sections (event_id, position, name, price, rows, seats_per_row, capacity) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
const Statement kSaveRoom{
    "tacos_save_room",
    "INSERT INTO queue_rooms (event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, pre_issued, "
    "seq_issued, serving, joined_total, admitted_total, abandoned_total, left_total, lapsed_total, "
    "finished_total) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (event_id) DO UPDATE "
    "SET epoch = EXCLUDED.epoch, shuffle_seed = EXCLUDED.shuffle_seed, created_at_ms = EXCLUDED.created_at_ms, "
    "opened_at_ms = EXCLUDED.opened_at_ms, pre_issued = EXCLUDED.pre_issued, seq_issued = EXCLUDED.seq_issued, "
    "serving = EXCLUDED.serving, joined_total = EXCLUDED.joined_total, admitted_total = "
    "EXCLUDED.admitted_total, abandoned_total = EXCLUDED.abandoned_total, left_total = EXCLUDED.left_total, "
    "lapsed_total = EXCLUDED.lapsed_total, finished_total = EXCLUDED.finished_total"};
const Statement kSavePlace{"tacos_save_place",
                           "INSERT INTO queue_places (event_id, ticket, state, at_ms) VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT (event_id, ticket) DO UPDATE SET state = EXCLUDED.state, at_ms = "
                           "EXCLUDED.at_ms"};

std::string num(std::int64_t v) { return std::to_string(v); }

domain::User read_user(const Rows& r, int i) {
  return domain::User{std::string(r.text(i, 0)),
                      std::string(r.text(i, 1)),
                      std::string(r.text(i, 2)),
                      std::string(r.text(i, 3)),
                      std::string(r.text(i, 4)),
                      std::string(r.text(i, 5)),
                      r.integer(i, 6)};
}

domain::Event read_event(const Rows& r, int i) {
  domain::Event e;
  e.id = r.text(i, 0);
  e.name = r.text(i, 1);
  e.venue = r.text(i, 2);
  e.starts_at_ms = r.integer(i, 3);
  e.sale_starts_at_ms = r.integer(i, 4);
  e.hold_ttl_sec = static_cast<int>(r.integer(i, 5));
  e.admission_rate = static_cast<int>(r.integer(i, 6));
  e.currency = r.text(i, 7);
  e.general_admission = r.text(i, 8) == "t";
  e.created_at_ms = r.integer(i, 9);
  e.active_buyer_cap = static_cast<int>(r.integer(i, 10));
  e.max_seats_per_reservation = static_cast<int>(r.integer(i, 11));
  e.max_tickets_per_user = static_cast<int>(r.integer(i, 12));
  return e;
}

// Sections with their available / held / sold counts: seated events count their seats; general
// admission has its stock in ga_stock and its held and sold places in the live reservations.
asio::awaitable<void> load_sections(Connection& c, domain::Event& e, Deadline d) {
  std::vector<Param> id{e.id};
  auto secs = co_await c.query(
      "SELECT name, price, rows, seats_per_row, capacity FROM sections WHERE event_id = $1 ORDER BY position", id, d);
  Runner::check(secs, "reading sections");
  for (int i = 0; i < secs->size(); ++i) {
    domain::Section s;
    s.name = secs->text(i, 0);
    s.price = secs->integer(i, 1);
    s.rows = static_cast<int>(secs->integer(i, 2));
    s.seats_per_row = static_cast<int>(secs->integer(i, 3));
    s.capacity = secs->integer(i, 4);
    e.sections.push_back(std::move(s));
  }
  if (e.general_admission) {
    if (e.sections.empty()) co_return;
    auto left = co_await ga_available(c, e.id, d);
    e.sections[0].available = Runner::check(left, "reading the stock");
    auto live = co_await c.query(
        "SELECT status, COALESCE(sum(quantity), 0) FROM reservations WHERE event_id = $1 AND status IN ('HOLD', "
        "'CONFIRMED') GROUP BY status",
        id, d);
    Runner::check(live, "reading reservations");
    for (int i = 0; i < live->size(); ++i)
      (live->text(i, 0) == "HOLD" ? e.sections[0].held : e.sections[0].sold) = live->integer(i, 1);
    co_return;
  }
  auto counts = co_await c.query(
      "SELECT section, status, count(*) FROM seats WHERE event_id = $1 GROUP BY section, status", id, d);
  Runner::check(counts, "counting seats");
  std::map<std::string, domain::Section*, std::less<>> by_name;
  for (auto& s : e.sections) by_name[s.name] = &s;
  for (int i = 0; i < counts->size(); ++i) {
    auto it = by_name.find(counts->text(i, 0));
    if (it == by_name.end()) continue;
    auto status = domain::parse_seat_status(counts->text(i, 1)).value_or(domain::SeatStatus::available);
    std::int64_t n = counts->integer(i, 2);
    if (status == domain::SeatStatus::available)
      it->second->available = n;
    else if (status == domain::SeatStatus::held)
      it->second->held = n;
    else
      it->second->sold = n;
  }
}

// Runs `script`-level BEGIN / COMMIT around `body`; ROLLBACK when it returns an error or throws.
asio::awaitable<Status> in_transaction(Connection& c, Deadline d, std::function<asio::awaitable<Status>()> body) {
  auto begun = co_await c.script("BEGIN", d);
  Runner::check(begun, "BEGIN");
  Status st;
  std::exception_ptr failed;
  try {
    st = co_await body();
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed || !st) {
    if (!c.broken()) (void)co_await c.script("ROLLBACK", d);
    if (failed) std::rethrow_exception(failed);
    co_return st;
  }
  auto committed = co_await c.script("COMMIT", d);
  Runner::check(committed, "COMMIT");
  co_return st;
}

}  // namespace

Repositories::Repositories(const PostgresOptions& options, int pool_size, int threads) {
  if (auto problem = check_postgres_conninfo(options.conninfo); !problem.empty())
    throw StoreError("store.postgres_url " + problem);
  runner_ = std::make_unique<Runner>(pool_options(options, pool_size), threads);
}

Repositories::~Repositories() = default;

Status Repositories::ping() {
  try {
    return runner_->run<Status>([this](Connection& c) -> asio::awaitable<Status> {
      auto r = co_await c.query("SELECT 1", {}, runner_->deadline());
      if (!r) co_return r.error();
      co_return Status{};
    });
  } catch (const StoreError& e) {
    return Error(Errc::unavailable, e.what());
  }
}

// ---- users

Status Repositories::create(const domain::User& u) {
  return runner_->run<Status>([&](Connection& c) -> asio::awaitable<Status> {
    std::vector<Param> p{u.id, u.username, u.email, u.display_name, u.password_hash, u.role, num(u.created_at_ms)};
    auto r = co_await c.query(
        std::string("INSERT INTO users (") + kUserCols + ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        p, runner_->deadline());
    Runner::check(r, "creating a user");
    if (r->affected() == 0) co_return Error(Errc::username_taken, "username '" + u.username + "' is taken", "username");
    co_return Status{};
  });
}

std::optional<domain::User> Repositories::find_by_username(std::string_view username) {
  return runner_->run<std::optional<domain::User>>([&](Connection& c) -> asio::awaitable<std::optional<domain::User>> {
    std::vector<Param> p{std::string(username)};
    auto r = co_await c.query(std::string("SELECT ") + kUserCols + " FROM users WHERE lower(username) = lower($1)", p,
                              runner_->deadline());
    Runner::check(r, "reading a user");
    if (r->empty()) co_return std::nullopt;
    co_return read_user(r.value(), 0);
  });
}

std::optional<domain::User> Repositories::find_by_id(std::string_view id) {
  return runner_->run<std::optional<domain::User>>([&](Connection& c) -> asio::awaitable<std::optional<domain::User>> {
    std::vector<Param> p{std::string(id)};
    auto r = co_await c.query(std::string("SELECT ") + kUserCols + " FROM users WHERE id = $1", p, runner_->deadline());
    Runner::check(r, "reading a user");
    if (r->empty()) co_return std::nullopt;
    co_return read_user(r.value(), 0);
  });
}

std::int64_t Repositories::count() {
  return runner_->run<std::int64_t>([&](Connection& c) -> asio::awaitable<std::int64_t> {
    auto r = co_await c.query("SELECT count(*) FROM users", {}, runner_->deadline());
    Runner::check(r, "counting users");
    co_return r->integer(0, 0);
  });
}

// ---- events

Status Repositories::create(const domain::Event& e, const std::vector<domain::Seat>& seats) {
  return runner_->run<Status>([&](Connection& c) -> asio::awaitable<Status> {
    auto d = runner_->deadline();
    co_return co_await in_transaction(c, d, [&]() -> asio::awaitable<Status> {
      std::vector<Param> ev{e.id,
                            e.name,
                            e.venue,
                            num(e.starts_at_ms),
                            num(e.sale_starts_at_ms),
                            num(e.hold_ttl_sec),
                            num(e.admission_rate),
                            e.currency,
                            std::string(e.general_admission ? "t" : "f"),
                            num(e.created_at_ms),
                            num(e.active_buyer_cap),
                            num(e.max_seats_per_reservation),
                            num(e.max_tickets_per_user)};
      auto inserted = co_await c.query(std::string("INSERT INTO events (") + kEventCols +
                                           ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) "
                                           "ON CONFLICT (id) DO NOTHING",
                                       ev, d);
      Runner::check(inserted, "creating an event");
      if (inserted->affected() == 0) co_return Error(Errc::event_exists, "event '" + e.id + "' already exists", "id");
      for (std::size_t i = 0; i < e.sections.size(); ++i) {
        const auto& s = e.sections[i];
        std::vector<Param> p{
            e.id,           num(static_cast<std::int64_t>(i)), s.name, num(s.price), num(s.rows), num(s.seats_per_row),
            num(s.capacity)};
        auto r = co_await c.query(kInsertSection, p, d);
        Runner::check(r, "creating a section");
      }
      if (e.general_admission) {
        std::int64_t stock = e.sections.empty() ? 0 : e.sections[0].available;
        auto r = co_await create_ga_stock(c, e.id, stock, ga_slots_for(stock), d);
        Runner::check(r, "creating the stock");
        co_return Status{};
      }
      // Every seat in one statement: arrays of columns, unnested side by side.
      std::vector<std::string> ids, sections, rows, numbers, statuses;
      for (const auto& s : seats) {
        ids.push_back(s.seat_id);
        sections.push_back(s.section);
        rows.push_back(num(s.row));
        numbers.push_back(num(s.number));
        statuses.push_back(std::string(domain::to_string(s.status)));
      }
      std::vector<Param> p{
          e.id, text_array(ids), text_array(sections), text_array(rows), text_array(numbers), text_array(statuses)};
      auto r = co_await c.query(
          "INSERT INTO seats (event_id, seat_id, section, row_no, seat_no, status) "
          "SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[])",
          p, d);
      Runner::check(r, "creating seats");
      co_return Status{};
    });
  });
}

std::vector<domain::Event> Repositories::list() {
  return runner_->run<std::vector<domain::Event>>([&](Connection& c) -> asio::awaitable<std::vector<domain::Event>> {
    auto d = runner_->deadline();
    auto r = co_await c.query(std::string("SELECT ") + kEventCols + " FROM events ORDER BY starts_at_ms, id", {}, d);
    Runner::check(r, "listing events");
    std::vector<domain::Event> out;
    for (int i = 0; i < r->size(); ++i) out.push_back(read_event(r.value(), i));
    for (auto& e : out) co_await load_sections(c, e, d);
    co_return out;
  });
}

std::optional<domain::Event> Repositories::get(std::string_view id) {
  return runner_->run<std::optional<domain::Event>>(
      [&](Connection& c) -> asio::awaitable<std::optional<domain::Event>> {
        auto d = runner_->deadline();
        std::vector<Param> p{std::string(id)};
        auto r = co_await c.query(std::string("SELECT ") + kEventCols + " FROM events WHERE id = $1", p, d);
        Runner::check(r, "reading an event");
        if (r->empty()) co_return std::nullopt;
        auto e = read_event(r.value(), 0);
        co_await load_sections(c, e, d);
        co_return e;
      });
}

std::vector<domain::Seat> Repositories::seats(std::string_view event_id) {
  return runner_->run<std::vector<domain::Seat>>([&](Connection& c) -> asio::awaitable<std::vector<domain::Seat>> {
    std::vector<Param> p{std::string(event_id)};
    auto r = co_await c.query(
        "SELECT s.seat_id, s.section, s.row_no, s.seat_no, s.status FROM seats s "
        "JOIN sections c ON c.event_id = s.event_id AND c.name = s.section "
        "WHERE s.event_id = $1 ORDER BY c.position, s.row_no, s.seat_no",
        p, runner_->deadline());
    Runner::check(r, "reading seats");
    std::vector<domain::Seat> out;
    out.reserve(static_cast<std::size_t>(r->size()));
    for (int i = 0; i < r->size(); ++i) {
      domain::Seat s;
      s.seat_id = r->text(i, 0);
      s.section = r->text(i, 1);
      s.row = static_cast<int>(r->integer(i, 2));
      s.number = static_cast<int>(r->integer(i, 3));
      s.status = domain::parse_seat_status(r->text(i, 4)).value_or(domain::SeatStatus::available);
      out.push_back(std::move(s));
    }
    co_return out;
  });
}

Status Repositories::update_queue_settings(std::string_view id, int admission_rate, int active_buyer_cap) {
  return runner_->run<Status>([&](Connection& c) -> asio::awaitable<Status> {
    std::vector<Param> p{num(admission_rate), num(active_buyer_cap), std::string(id)};
    auto r = co_await c.query("UPDATE events SET admission_rate = $1, active_buyer_cap = $2 WHERE id = $3", p,
                              runner_->deadline());
    Runner::check(r, "updating queue settings");
    if (r->affected() == 0) co_return Error(Errc::not_found, "no event '" + std::string(id) + "'");
    co_return Status{};
  });
}

// ---- waiting rooms

std::vector<StoredQueue> Repositories::load_queues() {
  return runner_->run<std::vector<StoredQueue>>([&](Connection& c) -> asio::awaitable<std::vector<StoredQueue>> {
    auto d = runner_->deadline();
    auto rooms = co_await c.query(
        "SELECT event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, pre_issued, seq_issued, serving, "
        "joined_total, admitted_total, abandoned_total, left_total, lapsed_total, finished_total FROM queue_rooms",
        {}, d);
    Runner::check(rooms, "reading waiting rooms");
    std::vector<StoredQueue> out;
    for (int i = 0; i < rooms->size(); ++i) {
      StoredQueue q;
      auto& r = q.room;
      r.event_id = rooms->text(i, 0);
      r.epoch = static_cast<std::uint64_t>(rooms->integer(i, 1));
      r.shuffle_seed = static_cast<std::uint64_t>(rooms->integer(i, 2));
      r.created_at_ms = rooms->integer(i, 3);
      r.opened_at_ms = rooms->integer(i, 4);
      r.pre_issued = rooms->integer(i, 5);
      r.seq_issued = rooms->integer(i, 6);
      r.serving = rooms->integer(i, 7);
      r.joined_total = rooms->integer(i, 8);
      r.admitted_total = rooms->integer(i, 9);
      r.abandoned_total = rooms->integer(i, 10);
      r.left_total = rooms->integer(i, 11);
      r.lapsed_total = rooms->integer(i, 12);
      r.finished_total = rooms->integer(i, 13);
      out.push_back(std::move(q));
    }
    for (auto& q : out) {
      std::vector<Param> id{q.room.event_id};
      auto places = co_await c.query("SELECT ticket, state, at_ms FROM queue_places WHERE event_id = $1", id, d);
      Runner::check(places, "reading waiting places");
      for (int i = 0; i < places->size(); ++i)
        q.places.push_back(
            {q.room.event_id, std::string(places->text(i, 0)), std::string(places->text(i, 1)), places->integer(i, 2)});
      auto uses =
          co_await c.query("SELECT queue_ticket, status, created_at_ms FROM reservations WHERE event_id = $1", id, d);
      Runner::check(uses, "reading reservations");
      for (int i = 0; i < uses->size(); ++i)
        q.uses.push_back({std::string(uses->text(i, 0)), uses->text(i, 1) == "HOLD", uses->integer(i, 2)});
    }
    co_return out;
  });
}

void Repositories::save_queues(const std::vector<QueueRoomRecord>& rooms, const std::vector<QueuePlaceRecord>& places) {
  auto st = runner_->run<Status>([&](Connection& c) -> asio::awaitable<Status> {
    auto d = runner_->deadline();
    co_return co_await in_transaction(c, d, [&]() -> asio::awaitable<Status> {
      for (const auto& r : rooms) {
        std::vector<Param> p{r.event_id,
                             num(static_cast<std::int64_t>(r.epoch)),
                             num(static_cast<std::int64_t>(r.shuffle_seed)),
                             num(r.created_at_ms),
                             num(r.opened_at_ms),
                             num(r.pre_issued),
                             num(r.seq_issued),
                             num(r.serving),
                             num(r.joined_total),
                             num(r.admitted_total),
                             num(r.abandoned_total),
                             num(r.left_total),
                             num(r.lapsed_total),
                             num(r.finished_total)};
        auto res = co_await c.query(kSaveRoom, p, d);
        Runner::check(res, "saving a waiting room");
      }
      for (const auto& pl : places) {
        std::vector<Param> p{pl.event_id, pl.ticket, pl.state, num(pl.at_ms)};
        auto res = co_await c.query(kSavePlace, p, d);
        Runner::check(res, "saving a waiting place");
      }
      co_return Status{};
    });
  });
  if (!st) throw StoreError("storing the waiting rooms failed: " + st.error().message);
}

}  // namespace tacos::store::pg

// The embedded store: one SQLite file in WAL mode. Writes go through one connection under a
// mutex (SQLite has a single writer anyway); reads use a small pool of connections so they
// run concurrently with writes.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "store/sqlite/db.hpp"
#include "store/sqlite/internal.hpp"
#include "store/store.hpp"

namespace tacos::store {
namespace {

using sqlite::Db;
using sqlite::ReadPool;
using sqlite::Statement;
using sqlite::Transaction;
using sqlite::WalWrites;

domain::User read_user(const Statement& s) {
  domain::User u;
  u.id = s.text(0);
  u.username = s.text(1);
  u.email = s.text(2);
  u.display_name = s.text(3);
  u.password_hash = s.text(4);
  u.role = s.text(5);
  u.created_at_ms = s.integer(6);
  return u;
}

constexpr std::string_view kUserCols = "id, username, email, display_name, password_hash, role, created_at_ms";
constexpr std::string_view kEventCols =
    "id, name, venue, starts_at_ms, sale_starts_at_ms, hold_ttl_sec, admission_rate, currency, general_admission, "
    "created_at_ms, active_buyer_cap, max_seats_per_reservation, max_tickets_per_user";

class SqliteStore final : public Store, public UserRepository, public EventRepository, public QueueStateStore {
 public:
  explicit SqliteStore(const SqliteOptions& o) {
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (ec) throw StoreError("cannot create data directory " + o.data_dir + ": " + ec.message());
    path_ = (std::filesystem::path(o.data_dir) / "tacos.db").string();
    // Synced commits let the writer collect each commit's WAL frames into one write (wal_vfs.hpp).
    writer_ = std::make_unique<Db>(path_, false, o.synchronous_full ? WalWrites::coalesced : WalWrites::direct);
    writer_->exec("PRAGMA journal_mode=WAL");
    writer_->exec(o.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    writer_->exec("PRAGMA foreign_keys=ON");
    writer_->exec("PRAGMA cache_size=-65536");  // 64 MiB: the hot B-tree pages stay in memory
    // temp_store stays at its default on purpose: with temp_store=MEMORY, SQLite keeps each
    // op's savepoint journal in 1 KiB chunks (a malloc per chunk, a free per chunk on RELEASE),
    // about a third of the writer's instructions per hold; by default it is one 64 KiB
    // in-memory chunk that spills to a temporary file only past 64 KiB.
    // Checkpoints run on their own thread and connection (below), not inside a commit that
    // requests are waiting for.
    writer_->exec("PRAGMA wal_autocheckpoint=0");
    readers_ = std::make_unique<ReadPool>(path_, o.read_connections);
    clock_ = o.clock ? o.clock : &SystemClock::instance();
    max_batch_ = o.max_batch;
    checkpoint_interval_ = std::chrono::milliseconds(std::max(1, o.checkpoint_interval_ms));
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
  }

  // Copies the WAL into the database file, so that the WAL can start over.
  //
  // SQLite writes the WAL from its beginning again only when a write transaction starts with
  // every frame copied and no reader on old frames. A PASSIVE checkpoint never blocks the writer,
  // but under steady load the writer commits more frames while it runs, so alone it never
  // catches up: the WAL then grows for as long as the load lasts (about 35 MB/s at 20,000
  // holds/s), and every commit extends the file, so its fdatasync must also write the file's
  // new size and blocks. On this machine that is about twice the CPU and twice the wall time
  // of a commit that overwrites blocks the file already has (260 against 130 us of CPU for a
  // 120 KiB commit). So each round copies the bulk while the writer goes on, then, with the
  // writer held off between two batches, the few frames committed meanwhile.
  void checkpoint_loop() {
    Db db(path_);
    std::unique_lock lock(checkpoint_mu_);
    while (!checkpoint_stop_) {
      checkpoint_cv_.wait_for(lock, checkpoint_interval_);
      try {
        db.exec("PRAGMA wal_checkpoint(PASSIVE)");
        std::lock_guard writer(write_mu_);
        db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      } catch (const StoreError& e) {
        log::warn("checkpoint failed", {log::str("error", e.what())});
      }
    }
  }

  ~SqliteStore() override {
    if (ledger_) ledger_->stop();
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
  }

  UserRepository& users() override { return *this; }
  EventRepository& events() override { return *this; }
  Ledger& ledger() override {
    std::call_once(ledger_once_,
                   [this] { ledger_ = sqlite::make_ledger(*writer_, write_mu_, *readers_, *clock_, max_batch_); });
    return *ledger_;
  }
  InvariantChecker& invariants() override {
    std::call_once(checker_once_, [this] { checker_ = sqlite::make_invariant_checker(*readers_); });
    return *checker_;
  }
  QueueStateStore& queue_state() override { return *this; }

  // --- waiting rooms
  std::vector<StoredQueue> load_queues() override {
    auto db = readers_->take();
    std::vector<StoredQueue> out;
    auto rooms = db->prepare(
        "SELECT event_id, epoch, shuffle_seed, created_at_ms, opened_at_ms, pre_issued, seq_issued, serving, "
        "joined_total, admitted_total, abandoned_total, left_total, lapsed_total, finished_total FROM queue_rooms");
    while (rooms.step()) {
      StoredQueue q;
      auto& r = q.room;
      r.event_id = rooms.text(0);
      r.epoch = static_cast<std::uint64_t>(rooms.integer(1));
      r.shuffle_seed = static_cast<std::uint64_t>(rooms.integer(2));
      r.created_at_ms = rooms.integer(3);
      r.opened_at_ms = rooms.integer(4);
      r.pre_issued = rooms.integer(5);
      r.seq_issued = rooms.integer(6);
      r.serving = rooms.integer(7);
      r.joined_total = rooms.integer(8);
      r.admitted_total = rooms.integer(9);
      r.abandoned_total = rooms.integer(10);
      r.left_total = rooms.integer(11);
      r.lapsed_total = rooms.integer(12);
      r.finished_total = rooms.integer(13);
      out.push_back(std::move(q));
    }
    for (auto& q : out) {
      auto places = db->prepare("SELECT ticket, state, at_ms FROM queue_places WHERE event_id = ?");
      places.bind(1, q.room.event_id);
      while (places.step()) q.places.push_back({q.room.event_id, places.text(0), places.text(1), places.integer(2)});
      auto uses = db->prepare("SELECT queue_ticket, status, created_at_ms FROM reservations WHERE event_id = ?");
      uses.bind(1, q.room.event_id);
      while (uses.step()) q.uses.push_back({uses.text(0), uses.text(1) == "HOLD", uses.integer(2)});
    }
    return out;
  }

  void save_queues(const std::vector<QueueRoomRecord>& rooms, const std::vector<QueuePlaceRecord>& places) override {
    auto st = ledger().run([&](WriteTx& tx) -> Status {
      for (const auto& r : rooms) tx.save_queue_room(r);
      for (const auto& p : places) tx.save_queue_place(p);
      return {};
    });
    if (!st) throw StoreError("storing the waiting rooms failed: " + st.error().message);
  }

  std::vector<MigrationInfo> pending_migrations() override {
    std::lock_guard lock(write_mu_);
    auto exists = writer_->prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
    bool have_table = exists.step();
    std::vector<MigrationInfo> pending;
    for (const auto& m : sqlite_migrations()) {
      if (have_table) {
        auto q = writer_->prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
        q.bind(1, static_cast<std::int64_t>(m.version));
        if (q.step()) continue;
      }
      pending.push_back({m.version, std::string(m.name)});
    }
    return pending;
  }

  std::vector<MigrationInfo> migrate() override {
    std::lock_guard lock(write_mu_);
    writer_->exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at_ms INTEGER NOT NULL)");
    std::vector<MigrationInfo> applied;
    for (const auto& m : sqlite_migrations()) {
      auto q = writer_->prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
      q.bind(1, static_cast<std::int64_t>(m.version));
      if (q.step()) continue;
      // The ledger loads its in-memory index from the tables when it is made (ledger.cpp).
      if (ledger_) throw StoreError("migrate() must run before the ledger is first used");
      auto failed = [&](const std::string& why) {
        return StoreError("migration " + std::to_string(m.version) + "_" + std::string(m.name) + " failed: " + why);
      };
      // A migration that rebuilds a table other tables reference (create, copy, drop, rename)
      // must run with foreign keys off, which SQLite allows only outside a transaction; every
      // foreign key is checked before it commits instead (SQLite's documented procedure).
      bool fk_off = std::string_view(m.sql).starts_with("-- tacos: foreign_keys=off");
      if (fk_off) writer_->exec("PRAGMA foreign_keys=OFF");
      struct FkBackOn {
        Db& db;
        bool on;
        ~FkBackOn() {
          try {
            if (on) db.exec("PRAGMA foreign_keys=ON");
          } catch (const StoreError& e) {
            log::error("cannot turn foreign keys back on", {log::str("error", e.what())});
          }
        }
      } fk_back_on{*writer_, fk_off};
      Transaction tx(*writer_);
      try {
        writer_->exec(m.sql);
      } catch (const StoreError& e) {
        throw failed(e.what());
      }
      if (fk_off) {
        auto check = writer_->prepare("PRAGMA foreign_key_check");
        if (check.step()) throw failed("it breaks a foreign key of table " + check.text(0));
      }
      auto ins = writer_->prepare("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)");
      auto now_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      ins.bind(1, static_cast<std::int64_t>(m.version)).bind(2, m.name).bind(3, static_cast<std::int64_t>(now_ms));
      ins.exec();
      tx.commit();
      applied.push_back({m.version, std::string(m.name)});
      log::info("migration applied", {log::num("version", m.version), log::str("name", m.name)});
    }
    return applied;
  }

  Status ping() override {
    try {
      auto db = readers_->take();
      auto s = db->prepare("SELECT 1");
      s.step();
      return {};
    } catch (const StoreError& e) {
      return Error(Errc::unavailable, e.what());
    }
  }

  // --- users
  Status create(const domain::User& u) override {
    std::lock_guard lock(write_mu_);
    auto s = writer_->prepare(
        "INSERT INTO users (id, username, email, display_name, password_hash, role, created_at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, u.id).bind(2, u.username).bind(3, u.email).bind(4, u.display_name).bind(5, u.password_hash);
    s.bind(6, u.role).bind(7, u.created_at_ms);
    if (s.exec() == SQLITE_CONSTRAINT)
      return Error(Errc::username_taken, "username '" + u.username + "' is taken", "username");
    return {};
  }

  std::optional<domain::User> find_by_username(std::string_view username) override {
    auto db = readers_->take();
    auto s = db->prepare("SELECT " + std::string(kUserCols) + " FROM users WHERE username = ? COLLATE NOCASE");
    s.bind(1, username);
    if (!s.step()) return std::nullopt;
    return read_user(s);
  }

  std::optional<domain::User> find_by_id(std::string_view id) override {
    auto db = readers_->take();
    auto s = db->prepare("SELECT " + std::string(kUserCols) + " FROM users WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_user(s);
  }

  std::int64_t count() override {
    auto db = readers_->take();
    auto s = db->prepare("SELECT COUNT(*) FROM users");
    s.step();
    return s.integer(0);
  }

  // --- events
  Status create(const domain::Event& e, const std::vector<domain::Seat>& seats) override {
    std::lock_guard lock(write_mu_);
    Transaction tx(*writer_);
    auto ev =
        writer_->prepare("INSERT INTO events (" + std::string(kEventCols) + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    ev.bind(1, e.id).bind(2, e.name).bind(3, e.venue).bind(4, e.starts_at_ms).bind(5, e.sale_starts_at_ms);
    ev.bind(6, static_cast<std::int64_t>(e.hold_ttl_sec)).bind(7, static_cast<std::int64_t>(e.admission_rate));
    ev.bind(8, e.currency).bind(9, static_cast<std::int64_t>(e.general_admission ? 1 : 0)).bind(10, e.created_at_ms);
    ev.bind(11, static_cast<std::int64_t>(e.active_buyer_cap));
    ev.bind(12, static_cast<std::int64_t>(e.max_seats_per_reservation));
    ev.bind(13, static_cast<std::int64_t>(e.max_tickets_per_user));
    if (ev.exec() == SQLITE_CONSTRAINT) return Error(Errc::event_exists, "event '" + e.id + "' already exists", "id");
    auto sec = writer_->prepare(
        "INSERT INTO sections (event_id, position, name, price, rows, seats_per_row, capacity, ga_available) "
        "VALUES (?,?,?,?,?,?,?,?)");
    std::int64_t pos = 0;
    for (const auto& s : e.sections) {
      sec.reset();
      sec.bind(1, e.id).bind(2, pos++).bind(3, s.name).bind(4, s.price).bind(5, static_cast<std::int64_t>(s.rows));
      sec.bind(6, static_cast<std::int64_t>(s.seats_per_row)).bind(7, s.capacity);
      if (e.general_admission)
        sec.bind(8, s.available);
      else
        sec.bind_null(8);
      sec.exec();
    }
    auto seat = writer_->prepare(
        "INSERT INTO seats (event_id, seat_id, section, row_no, seat_no, status) VALUES (?,?,?,?,?,?)");
    for (const auto& st : seats) {
      seat.reset();
      seat.bind(1, e.id).bind(2, st.seat_id).bind(3, st.section).bind(4, static_cast<std::int64_t>(st.row));
      seat.bind(5, static_cast<std::int64_t>(st.number)).bind(6, domain::to_string(st.status));
      if (seat.exec() == SQLITE_CONSTRAINT) throw StoreError("duplicate seat " + st.seat_id);
    }
    tx.commit();
    return {};
  }

  std::vector<domain::Event> list() override {
    auto db = readers_->take();
    auto s = db->prepare("SELECT " + std::string(kEventCols) + " FROM events ORDER BY starts_at_ms, id");
    std::vector<domain::Event> out;
    while (s.step()) out.push_back(read_event(s));
    for (auto& e : out) load_sections(*db, e);
    return out;
  }

  std::optional<domain::Event> get(std::string_view id) override {
    auto db = readers_->take();
    auto s = db->prepare("SELECT " + std::string(kEventCols) + " FROM events WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    auto e = read_event(s);
    load_sections(*db, e);
    return e;
  }

  std::vector<domain::Seat> seats(std::string_view event_id) override {
    auto db = readers_->take();
    auto s = db->prepare(
        "SELECT s.seat_id, s.section, s.row_no, s.seat_no, s.status FROM seats s "
        "JOIN sections c ON c.event_id = s.event_id AND c.name = s.section "
        "WHERE s.event_id = ? ORDER BY c.position, s.row_no, s.seat_no");
    s.bind(1, event_id);
    std::vector<domain::Seat> out;
    while (s.step()) {
      domain::Seat seat;
      seat.seat_id = s.text(0);
      seat.section = s.text(1);
      seat.row = static_cast<int>(s.integer(2));
      seat.number = static_cast<int>(s.integer(3));
      seat.status = domain::parse_seat_status(s.text(4)).value_or(domain::SeatStatus::available);
      out.push_back(std::move(seat));
    }
    return out;
  }

  Status update_queue_settings(std::string_view id, int admission_rate, int active_buyer_cap) override {
    std::lock_guard lock(write_mu_);
    auto s = writer_->prepare("UPDATE events SET admission_rate = ?, active_buyer_cap = ? WHERE id = ?");
    s.bind(1, static_cast<std::int64_t>(admission_rate))
        .bind(2, static_cast<std::int64_t>(active_buyer_cap))
        .bind(3, id);
    s.exec();
    if (sqlite3_changes(writer_->raw()) == 0) return Error(Errc::not_found, "no event '" + std::string(id) + "'");
    return {};
  }

 private:
  static domain::Event read_event(const Statement& s) {
    domain::Event e;
    e.id = s.text(0);
    e.name = s.text(1);
    e.venue = s.text(2);
    e.starts_at_ms = s.integer(3);
    e.sale_starts_at_ms = s.integer(4);
    e.hold_ttl_sec = static_cast<int>(s.integer(5));
    e.admission_rate = static_cast<int>(s.integer(6));
    e.currency = s.text(7);
    e.general_admission = s.integer(8) != 0;
    e.created_at_ms = s.integer(9);
    e.active_buyer_cap = static_cast<int>(s.integer(10));
    e.max_seats_per_reservation = static_cast<int>(s.integer(11));
    e.max_tickets_per_user = static_cast<int>(s.integer(12));
    return e;
  }

  static void load_sections(Db& db, domain::Event& e) {
    auto s = db.prepare(
        "SELECT name, price, rows, seats_per_row, capacity, ga_available FROM sections WHERE event_id = ? "
        "ORDER BY position");
    s.bind(1, e.id);
    while (s.step()) {
      domain::Section sec;
      sec.name = s.text(0);
      sec.price = s.integer(1);
      sec.rows = static_cast<int>(s.integer(2));
      sec.seats_per_row = static_cast<int>(s.integer(3));
      sec.capacity = s.integer(4);
      if (!s.is_null(5)) sec.available = s.integer(5);
      e.sections.push_back(std::move(sec));
    }
    if (e.general_admission) {
      // Held and sold general-admission stock is the sum of live reservations.
      auto r = db.prepare(
          "SELECT status, COALESCE(SUM(quantity), 0) FROM reservations WHERE event_id = ? AND status IN ('HOLD', "
          "'CONFIRMED') GROUP BY status");
      r.bind(1, e.id);
      while (r.step()) {
        if (e.sections.empty()) break;
        (r.text(0) == "HOLD" ? e.sections[0].held : e.sections[0].sold) = r.integer(1);
      }
      return;
    }
    auto c = db.prepare("SELECT section, status, COUNT(*) FROM seats WHERE event_id = ? GROUP BY section, status");
    c.bind(1, e.id);
    std::map<std::string, domain::Section*> by_name;
    for (auto& sec : e.sections) by_name[sec.name] = &sec;
    while (c.step()) {
      auto it = by_name.find(c.text(0));
      if (it == by_name.end()) continue;
      auto status = domain::parse_seat_status(c.text(1)).value_or(domain::SeatStatus::available);
      std::int64_t n = c.integer(2);
      if (status == domain::SeatStatus::available)
        it->second->available = n;
      else if (status == domain::SeatStatus::held)
        it->second->held = n;
      else
        it->second->sold = n;
    }
  }

  std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<Db> writer_;
  std::unique_ptr<ReadPool> readers_;
  const Clock* clock_ = nullptr;
  int max_batch_ = 512;
  std::once_flag ledger_once_;
  std::unique_ptr<Ledger> ledger_;
  std::chrono::milliseconds checkpoint_interval_{500};
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_stop_ = false;
  std::thread checkpointer_;
  std::once_flag checker_once_;
  std::unique_ptr<InvariantChecker> checker_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite(const SqliteOptions& options) { return std::make_unique<SqliteStore>(options); }

}  // namespace tacos::store

#pragma once
// Users, events and the waiting rooms' state on PostgreSQL: the same contracts as the SQLite
// store's (store.hpp, queue_state.hpp; store_contract_test runs one suite on both). The ledger
// and the invariant checker on PostgreSQL are not built yet, so `tacos serve` cannot use
// PostgreSQL; these are the first repositories of its Store.

#include <memory>

#include "store/postgres/runner.hpp"
#include "store/store.hpp"

namespace tacos::store::pg {

class Repositories final : public UserRepository, public EventRepository, public QueueStateStore {
 public:
  /// Connects lazily (the first call); `threads` run the client's io_context.
  explicit Repositories(const PostgresOptions& options, int pool_size = 8, int threads = 1);
  ~Repositories() override;

  // UserRepository
  Status create(const domain::User& user) override;
  std::optional<domain::User> find_by_username(std::string_view username) override;
  std::optional<domain::User> find_by_id(std::string_view id) override;
  std::int64_t count() override;

  // EventRepository
  Status create(const domain::Event& event, const std::vector<domain::Seat>& seats) override;
  std::vector<domain::Event> list() override;
  std::optional<domain::Event> get(std::string_view id) override;
  std::vector<domain::Seat> seats(std::string_view event_id) override;
  Status update_queue_settings(std::string_view id, int admission_rate, int active_buyer_cap) override;

  // QueueStateStore
  std::vector<StoredQueue> load_queues() override;
  void save_queues(const std::vector<QueueRoomRecord>& rooms, const std::vector<QueuePlaceRecord>& places) override;

  Status ping();

 private:
  std::unique_ptr<Runner> runner_;
};

}  // namespace tacos::store::pg

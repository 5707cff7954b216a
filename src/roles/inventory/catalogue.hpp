#pragma once
// The event catalogue of the inventory role: creates events and serves the public reads from
// rendered JSON cached per event (with its ETag) for at most a second, so a browse never touches
// the write path and a burst of holds costs one re-render per second.
// Thread-safe: the cache is guarded by one shared mutex; the store is thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "domain/catalogue.hpp"
#include "store/store.hpp"

namespace tacos::inventory {

/// A rendered response body and its strong ETag.
struct Rendered {
  std::string body;
  std::string etag;
  std::int64_t valid_until_ms = INT64_MAX;  // e.g. `on_sale` flips at the sale start
};

class Catalogue {
 public:
  Catalogue(store::EventRepository& events, const Clock& clock);

  /// Validates, assigns an id when none was given, stores. Errc::event_exists on a taken id.
  Result<domain::Event> create(domain::EventSpec spec);
  std::optional<domain::Event> get(std::string_view id);
  Status update_queue_settings(std::string_view id, int admission_rate, int active_buyer_cap);

  std::shared_ptr<const Rendered> list_json();
  Result<std::shared_ptr<const Rendered>> event_json(std::string_view id);
  Result<std::shared_ptr<const Rendered>> seats_json(std::string_view id);

  /// Drops cached renderings of one event (and the list), after its seats change.
  void invalidate(std::string_view id);

  /// Calls `f` with each event this catalogue creates, on the creating thread, before create()
  /// returns: the hold book loads a new event then, not on its first hold. Returns the id that
  /// unsubscribe() takes; unsubscribe() waits for a call in progress.
  int on_created(std::function<void(const domain::Event&)> f);
  void unsubscribe(int id);

 private:
  std::shared_ptr<const Rendered> cached(const std::string& key);
  /// Stores a rendering made from data read at `generation`, unless an invalidation came since
  /// (the rendering may predate the change and must not outlive it).
  std::shared_ptr<const Rendered> remember(const std::string& key, std::string body, std::int64_t valid_until_ms,
                                           std::uint64_t generation);
  std::uint64_t generation();

  store::EventRepository& events_;
  const Clock& clock_;
  std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Rendered>, std::less<>> cache_;
  std::uint64_t generation_ = 0;  // bumped by every invalidate()
  std::mutex listeners_mu_;
  std::map<int, std::function<void(const domain::Event&)>> listeners_;
  int next_listener_ = 0;
};

/// JSON renderings shared by the HTTP API and tests.
std::string event_to_json(const domain::Event& e, std::int64_t now_ms);

}  // namespace tacos::inventory

#pragma once
// What other roles may ask of the queue role: redeem a reservation token (check, then consume,
// exactly once), report that an admitted buyer has finished (which frees a slot of the event's
// active-buyer cap), and the waiting room's numbers. One interface, two implementations: the
// local one (local_client.hpp) and the remote one over the internal API (http_client.hpp). Every
// call answers through its callback, exactly once, from any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "domain/waiting_room.hpp"

namespace tacos::queue {

/// Who was admitted, as carried by a redeemed reservation token.
struct Admission {
  std::string event_id;
  std::string ticket;   // opaque place reference, handed back in buyer_finished
  std::string user_id;  // the signed-in user who redeemed it
};

/// One waiting room's numbers, for the organiser.
struct QueueStats {
  std::string event_id;
  domain::WaitingRoomStats room;
  double admission_rate = 0;
  std::int64_t active_buyer_cap = 0;
  std::int64_t sale_starts_at_ms = 0;
};

class QueueClient {
 public:
  virtual ~QueueClient() = default;
  /// Checks a reservation token without spending it. Errors (all 403): RESERVATION_TOKEN_INVALID,
  /// _EXPIRED, _WRONG_EVENT, _WRONG_USER, TOKEN_ALREADY_USED.
  virtual void check_reservation_token(std::string token, std::string event_id, std::string user_id,
                                       Done<Admission> done) = 0;
  /// Spends the token check_reservation_token accepted (its signature is not checked again):
  /// TOKEN_ALREADY_USED if another request spent it in between, _EXPIRED if it lapsed.
  virtual void consume(Admission admission, DoneStatus done) = 0;
  /// The buyer's reservation reached an end (confirmed, cancelled or expired). Idempotent; nobody
  /// waits for it.
  virtual void buyer_finished(std::string event_id, std::string ticket) = 0;
  /// NOT_FOUND for an unknown event.
  virtual void stats(std::string event_id, Done<QueueStats> done) = 0;
};

// The internal API's wire format (JSON), shared by the remote client and the role's handlers.
/// `{event_id, open, sale_starts_at, waiting, ...}`: also the admin route's answer.
std::string to_json(const QueueStats& s);
Result<QueueStats> queue_stats_from_json(std::string_view body);
std::string to_json(const Admission& a);
Result<Admission> admission_from_json(std::string_view body);

}  // namespace tacos::queue

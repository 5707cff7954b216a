#pragma once
// What other roles may ask of the queue role: redeem a reservation token (verify and consume,
// exactly once) and report that an admitted buyer has finished, which frees a slot of the
// event's active-buyer cap.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tacos::queue {

/// Who was admitted, as carried by a redeemed reservation token.
struct Admission {
  std::string event_id;
  std::string ticket;   // opaque place reference, handed back in buyer_finished
  std::string user_id;  // the signed-in user who redeemed it
};

class QueueClient {
 public:
  virtual ~QueueClient() = default;
  /// Errors (all 403): RESERVATION_TOKEN_INVALID, _EXPIRED, _WRONG_EVENT, _WRONG_USER, TOKEN_ALREADY_USED.
  /// With `dry_run` the token is checked but not spent.
  virtual Result<Admission> consume_reservation_token(std::string_view token, std::string_view event_id,
                                                      std::string_view user_id, bool dry_run = false) = 0;
  /// The buyer's reservation reached an end (confirmed, cancelled or expired). Idempotent.
  virtual void buyer_finished(std::string_view event_id, std::string_view ticket) = 0;
};

}  // namespace tacos::queue

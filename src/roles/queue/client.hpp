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
  /// Checks a reservation token without spending it. Errors (all 403): RESERVATION_TOKEN_INVALID,
  /// _EXPIRED, _WRONG_EVENT, _WRONG_USER, TOKEN_ALREADY_USED.
  virtual Result<Admission> check_reservation_token(std::string_view token, std::string_view event_id,
                                                    std::string_view user_id) = 0;
  /// Spends the token `check_reservation_token` accepted (its signature is not checked again):
  /// TOKEN_ALREADY_USED if another request spent it in between, _EXPIRED if it lapsed.
  virtual Status consume(const Admission& admission) = 0;
  /// Both: checks and spends.
  Result<Admission> consume_reservation_token(std::string_view token, std::string_view event_id,
                                              std::string_view user_id) {
    auto a = check_reservation_token(token, event_id, user_id);
    if (!a) return a;
    if (auto st = consume(*a); !st) return st.error();
    return a;
  }
  /// The buyer's reservation reached an end (confirmed, cancelled or expired). Idempotent.
  virtual void buyer_finished(std::string_view event_id, std::string_view ticket) = 0;
};

}  // namespace tacos::queue

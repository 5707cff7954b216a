#pragma once
// What other roles may ask of the reservation role: a reservation as stored (the payment role
// checks that an intent is for a live hold), the expiry of a hold that ran out (the worker),
// delivery of a signed payment webhook (the payment simulator), and its jobs. One interface, two
// implementations (local_client.hpp, http_client.hpp); every call answers exactly once, from any
// thread.

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/ledger.hpp"

namespace tacos::reservation {

class ReservationClient {
 public:
  virtual ~ReservationClient() = default;
  /// NOT_FOUND for an unknown id.
  virtual void get(std::string reservation_id, Done<store::Reservation> done) = 0;
  /// Releases a hold whose time has run out; nothing for one that ended otherwise. Idempotent.
  virtual void expire(std::string reservation_id, DoneStatus done) = 0;
  /// Verifies and applies a payment webhook (INVALID_SIGNATURE when it does not verify).
  virtual void receive_webhook(std::string body, std::string signature, DoneStatus done) = 0;
  /// Runs one of the role's jobs (kind reservation.*).
  virtual void run_job(store::Job job, DoneStatus done) = 0;
};

}  // namespace tacos::reservation

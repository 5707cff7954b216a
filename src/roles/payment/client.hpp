#pragma once
// What other roles may ask of the payment simulator: an intent as stored (the reservation role
// confirms only with an approved one) and its jobs (settlement and webhook delivery, run by the
// worker). One interface, two implementations (local_client.hpp, http_client.hpp); every call
// answers exactly once, from any thread.

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/ledger.hpp"

namespace tacos::payment {

class PaymentClient {
 public:
  virtual ~PaymentClient() = default;
  /// NOT_FOUND for an unknown intent.
  virtual void get(std::string intent_id, Done<store::PaymentIntent> done) = 0;
  /// Runs one of the role's jobs (payment.settle, webhook.deliver).
  virtual void run_job(store::Job job, DoneStatus done) = 0;
};

}  // namespace tacos::payment

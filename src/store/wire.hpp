#pragma once
// The stored values of the ticketing core as JSON, for the internal API between roles (a
// reservation, a payment intent, a job travelling to the role that runs it).

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/ledger.hpp"

namespace tacos::store {

std::string to_json(const Reservation& r);
Result<Reservation> reservation_from_json(std::string_view body);
std::string to_json(const PaymentIntent& p);
Result<PaymentIntent> payment_intent_from_json(std::string_view body);
std::string to_json(const Job& j);
Result<Job> job_from_json(std::string_view body);

}  // namespace tacos::store

#pragma once
// The payment role's internal API: PaymentClient's calls for roles in other processes.

#include "net/router.hpp"
#include "roles/payment/client.hpp"

namespace tacos::payment {

/// POST /internal/v1/payment/{get, run-job}.
void add_internal_routes(net::Routes& internal, PaymentClient& local);

}  // namespace tacos::payment

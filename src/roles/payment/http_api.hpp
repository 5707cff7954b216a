#pragma once
// The payment simulator's routes: /api/v1/payment/{intent,process,{id}/status} and the
// /api/v1/payments/intent alias.

#include "net/router.hpp"
#include "roles/payment/service.hpp"

namespace tacos::payment {

void add_routes(net::Routes& router, PaymentService& service);

}  // namespace tacos::payment

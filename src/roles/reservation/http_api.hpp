#pragma once
// The reservation role's routes (the original gateway's paths and field names) and the payment
// webhook receiver.

#include "net/router.hpp"
#include "roles/reservation/service.hpp"

namespace tacos::reservation {

void add_routes(net::Router& router, ReservationService& service);

}  // namespace tacos::reservation

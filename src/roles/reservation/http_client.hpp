#pragma once
// ReservationClient over the internal API, for roles in another process (or --force-remote).

#include <memory>

#include "roles/reservation/client.hpp"
#include "runtime/rpc.hpp"

namespace tacos::reservation {

std::shared_ptr<ReservationClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel);

}  // namespace tacos::reservation

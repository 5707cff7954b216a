#pragma once
// PaymentClient over the internal API, for roles in another process (or --force-remote).

#include <memory>

#include "roles/payment/client.hpp"
#include "runtime/rpc.hpp"

namespace tacos::payment {

std::shared_ptr<PaymentClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel);

}  // namespace tacos::payment

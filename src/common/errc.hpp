#pragma once
// Every error the platform can answer with. The HTTP status and the public code string of each
// are decided in one table (errc.cpp); errc_test fails when an entry is missing.

#include <cstdint>
#include <optional>
#include <string_view>

namespace tacos {

enum class Errc : std::uint8_t {
  // request shape
  bad_request,
  invalid_json,
  validation_failed,
  payload_too_large,
  headers_too_large,
  uri_too_long,
  not_found,
  method_not_allowed,
  // identity
  unauthorized,
  invalid_token,
  token_expired,
  invalid_credentials,
  forbidden,
  // state
  conflict,
  username_taken,
  event_exists,
  precondition_failed,
  idempotency_key_in_use,
  idempotency_key_mismatch,
  // waiting room
  not_ready,
  not_in_queue,
  place_lost,
  token_used,
  reservation_token_invalid,
  reservation_token_expired,
  reservation_token_wrong_user,
  reservation_token_wrong_event,
  // ticketing
  seat_unavailable,
  sold_out,
  ticket_limit_reached,
  reservation_expired,
  reservation_not_cancellable,
  reservation_cancelled,
  payment_not_approved,
  payment_not_payable,
  invalid_signature,
  // capacity
  rate_limited,
  too_many_connections,
  unavailable,
  bad_gateway,
  timeout,
  internal,
  kCount  // sentinel: keep last
};

struct ErrcInfo {
  int http_status;
  std::string_view code;  // SCREAMING_SNAKE public code
};

/// The status and public code of an error. Defined for every value below Errc::kCount.
const ErrcInfo& errc_info(Errc e);
/// The error whose public code is `code` ("SEAT_UNAVAILABLE"), or nullopt.
std::optional<Errc> errc_from_code(std::string_view code);

}  // namespace tacos

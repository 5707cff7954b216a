#pragma once
// The reservation role's routes (the original gateway's paths and field names) and the payment
// webhook receiver.

#include "net/router.hpp"
#include "roles/reservation/service.hpp"

namespace tacos::reservation {

void add_routes(net::Routes& router, ReservationService& service);

/// Reads the body of POST /api/v1/reservations: event_id, reservation_token, and seat_ids (seated
/// events) or quantity (general admission). user_id and idempotency_key are the caller's to fill.
/// The error names the offending field.
/// A well-formed body (what real clients send) is read by simdjson; anything else goes to
/// parse_create_body_general, so every error reads exactly as it always did.
Result<CreateRequest> parse_create_body(std::string_view body);
/// The general reader (nlohmann::json and JsonReader) alone; the fuzzer compares the two.
Result<CreateRequest> parse_create_body_general(std::string_view body);
/// The simdjson reader alone: nullopt for anything it leaves to the general one (errors, unknown
/// or repeated fields, nulls, non-integer numbers).
std::optional<CreateRequest> parse_create_body_fast(std::string_view body);

}  // namespace tacos::reservation

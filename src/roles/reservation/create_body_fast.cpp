// parse_create_body_fast: the hold's body read by simdjson. nlohmann::json built a DOM of maps
// and strings for every hold and cost more than the rest of the request's parsing; simdjson reads
// the same body about ten times faster. It accepts only what the general reader would accept
// with the same result, and returns nullopt for everything else (the general reader then answers,
// errors included), so the two can never disagree; fuzz/json_body_fuzz.cpp checks that they don't.
// Its own translation unit: simdjson.h is large.

#include <simdjson.h>

#include "roles/reservation/http_api.hpp"

namespace tacos::reservation {

std::optional<CreateRequest> parse_create_body_fast(std::string_view body) {
  // The parser keeps its buffers between calls: one per I/O thread.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (body.empty() || parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;

  CreateRequest c;
  bool have_event = false, have_token = false, have_seats = false, have_quantity = false;
  for (auto field : obj) {
    std::string_view key = field.key;
    auto value = field.value;
    if (key == "event_id" && !have_event) {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS || s.empty() || s.size() > 64) return std::nullopt;
      c.event_id = s;
      have_event = true;
    } else if (key == "reservation_token" && !have_token) {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS || s.size() > 1024) return std::nullopt;
      c.reservation_token = s;
      have_token = true;
    } else if (key == "seat_ids" && !have_seats) {
      simdjson::dom::array seats;
      if (value.get_array().get(seats) != simdjson::SUCCESS || seats.size() > 100) return std::nullopt;
      c.seat_ids.reserve(seats.size());
      for (auto seat : seats) {
        std::string_view s;
        if (seat.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
        c.seat_ids.emplace_back(s);
      }
      have_seats = true;
    } else if (key == "quantity" && !have_quantity) {
      std::int64_t n = 0;
      if (!value.is_int64() || value.get_int64().get(n) != simdjson::SUCCESS || n < 1 || n > 100) return std::nullopt;
      c.quantity = n;
      have_quantity = true;
    } else {
      return std::nullopt;  // an unknown or repeated field: the general reader's call
    }
  }
  // An empty token is the general reader's error; both missing and given-but-empty seats too.
  if (!have_event || (have_token && c.reservation_token.empty())) return std::nullopt;
  if (c.seat_ids.empty() && c.quantity == 0) return std::nullopt;
  if (!c.seat_ids.empty() && c.quantity != 0 && c.quantity != static_cast<std::int64_t>(c.seat_ids.size())) {
    return std::nullopt;
  }
  if (!c.seat_ids.empty()) c.quantity = 0;
  return c;
}

}  // namespace tacos::reservation

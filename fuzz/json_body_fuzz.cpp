// libFuzzer target: raw bytes as a JSON request body through the code every handler uses.
//
//   bytes -> parse_json_object (depth-checked before parsing; the login rate limit's depth 4 too)
//         -> every JsonReader accessor, on the keys handlers read and on the body's own keys
//         -> the body validators: inventory::parse_event_spec (+ domain::validate) and
//            reservation::parse_create_body (its simdjson fast path and its general reader)
//         -> error_response for each error
//
// Properties checked besides "no crash, no sanitizer report": an accepted body is an object no
// deeper than the limit, every error envelope is valid JSON, and the hold body's fast reader never
// accepts what the general reader refuses, nor reads different fields.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_reader.hpp"
#include "domain/catalogue.hpp"
#include "net/http.hpp"
#include "roles/inventory/http_api.hpp"
#include "roles/reservation/http_api.hpp"

namespace {

using namespace tacos;
using nlohmann::json;

constexpr std::int64_t kNowMs = 1'700'000'000'000;
constexpr int kMaxDepth = 32;  // parse_json_object's default, which the handlers use

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

void check_error(const Error& e) {
  auto r = net::error_response(e, "trace");
  check(json::accept(r.body), "an error envelope is valid JSON");
}

// Depth of a parsed value (an object holding a scalar is 1), without recursion.
int depth_of(const json& root) {
  int deepest = 0;
  std::vector<std::pair<const json*, int>> todo{{&root, 0}};
  while (!todo.empty()) {
    auto [v, d] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) continue;
    deepest = std::max(deepest, d + 1);
    for (const auto& child : *v) todo.emplace_back(&child, d + 1);
  }
  return deepest;
}

// Each accessor on a fresh reader, so an early failure does not hide the later ones.
void read_key(const json& obj, std::string_view key) {
  {
    JsonReader r(obj);
    (void)r.required_string(key, 1, 64);
    if (!r.ok()) check_error(r.error());
  }
  {
    JsonReader r(obj, "sections[0].");
    (void)r.optional_string(key, 3);
    (void)r.optional_int(key, 0, INT64_MAX);
    if (!r.ok()) check_error(r.error());
  }
  {
    JsonReader r(obj);
    (void)r.required_int(key, -5, 1'000'000);
    (void)r.optional_bool(key);
    if (!r.ok()) check_error(r.error());
  }
  {
    JsonReader r(obj);
    if (const auto* a = r.array(key, true, 100)) {
      for (const auto& item : *a) {
        if (item.is_object()) {
          JsonReader ir(item, std::string(key) + "[].");
          (void)ir.required_string("name", 1, 16);
          (void)ir.required_int("price", 0, 1'000'000'000'000);
        }
      }
    }
    (void)r.object(key, false);
    if (!r.ok()) check_error(r.error());
  }
}

// The fields the handlers read (auth, queue, payment, reservation, admin queue settings).
constexpr std::string_view kHandlerKeys[] = {
    "username",      "password",          "email",     "display_name",   "event_id",
    "waiting_token", "reservation_token", "seat_ids",  "quantity",       "payment_intent_id",
    "action",        "reservation_id",    "amount",    "admission_rate", "active_buyer_cap",
    "sections",      "general_admission", "starts_at", "sale_starts_at", "id",
    "currency",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);

  auto shallow = parse_json_object(body, 4);  // the login rate limit reads the username this way
  if (shallow) check(depth_of(*shallow) <= 4, "an accepted body is no deeper than the limit");

  auto parsed = parse_json_object(body);
  if (!parsed) {
    check_error(parsed.error());
  } else {
    const json& obj = *parsed;
    check(obj.is_object(), "an accepted body is an object");
    check(depth_of(obj) <= kMaxDepth, "an accepted body is no deeper than the limit");
    for (auto key : kHandlerKeys) read_key(obj, key);
    std::size_t n = 0;
    for (const auto& [key, value] : obj.items()) {
      if (++n > 16) break;
      read_key(obj, key);
    }
  }

  auto spec = inventory::parse_event_spec(body, kNowMs, inventory::EventDefaults{});
  if (spec) {
    if (auto st = domain::validate(*spec); !st) check_error(st.error());
  } else {
    check_error(spec.error());
  }

  // The hold's two readers never disagree: whatever the fast one accepts, the general one
  // accepts with the same fields.
  if (auto fast = reservation::parse_create_body_fast(body)) {
    auto general = reservation::parse_create_body_general(body);
    check(general.ok(), "the fast create-body reader accepted what the general one refuses");
    if (general) {
      check(fast->event_id == general->event_id && fast->reservation_token == general->reservation_token &&
                fast->seat_ids == general->seat_ids && fast->quantity == general->quantity,
            "the two create-body readers read different requests");
    }
  }
  auto create = reservation::parse_create_body(body);
  if (create) {
    check(!create->event_id.empty(), "a reservation body names its event");
    check(create->seat_ids.empty() != (create->quantity == 0), "seats or a quantity, never both");
  } else {
    check_error(create.error());
  }
  return 0;
}

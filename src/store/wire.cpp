#include "store/wire.hpp"

#include <nlohmann/json.hpp>

namespace tacos::store {

using nlohmann::json;

namespace {

template <typename T, typename Read>
Result<T> decode(std::string_view body, const char* what, Read read) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(Errc::bad_gateway, std::string("a ") + what + " that is not a JSON object");
  try {
    return read(j);
  } catch (const std::exception& e) {
    return Error(Errc::bad_gateway, std::string("a malformed ") + what + ": " + e.what());
  }
}

}  // namespace

std::string to_json(const Reservation& r) {
  return json{{"id", r.id},
              {"event_id", r.event_id},
              {"user_id", r.user_id},
              {"status", to_string(r.status)},
              {"seat_ids", r.seat_ids},
              {"quantity", r.quantity},
              {"total_amount", r.total_amount},
              {"currency", r.currency},
              {"hold_expires_at_ms", r.hold_expires_at_ms},
              {"created_at_ms", r.created_at_ms},
              {"updated_at_ms", r.updated_at_ms},
              {"queue_ticket", r.queue_ticket},
              {"idempotency_key", r.idempotency_key},
              {"payment_intent_id", r.payment_intent_id},
              {"end_reason", r.end_reason}}
      .dump();
}

Result<Reservation> reservation_from_json(std::string_view body) {
  return decode<Reservation>(body, "reservation", [](const json& j) {
    Reservation r;
    r.id = j.at("id").get<std::string>();
    r.event_id = j.at("event_id").get<std::string>();
    r.user_id = j.at("user_id").get<std::string>();
    auto status = parse_reservation_status(j.at("status").get<std::string>());
    if (!status) throw std::runtime_error("unknown reservation status");
    r.status = *status;
    r.seat_ids = j.value("seat_ids", std::vector<std::string>{});
    r.quantity = j.at("quantity").get<std::int64_t>();
    r.total_amount = j.at("total_amount").get<std::int64_t>();
    r.currency = j.value("currency", "");
    r.hold_expires_at_ms = j.at("hold_expires_at_ms").get<std::int64_t>();
    r.created_at_ms = j.value("created_at_ms", std::int64_t{0});
    r.updated_at_ms = j.value("updated_at_ms", std::int64_t{0});
    r.queue_ticket = j.value("queue_ticket", "");
    r.idempotency_key = j.value("idempotency_key", "");
    r.payment_intent_id = j.value("payment_intent_id", "");
    r.end_reason = j.value("end_reason", "");
    return r;
  });
}

std::string to_json(const PaymentIntent& p) {
  return json{{"id", p.id},
              {"reservation_id", p.reservation_id},
              {"user_id", p.user_id},
              {"amount", p.amount},
              {"currency", p.currency},
              {"status", to_string(p.status)},
              {"scenario", p.scenario},
              {"refund_required", p.refund_required},
              {"created_at_ms", p.created_at_ms},
              {"updated_at_ms", p.updated_at_ms}}
      .dump();
}

Result<PaymentIntent> payment_intent_from_json(std::string_view body) {
  return decode<PaymentIntent>(body, "payment intent", [](const json& j) {
    PaymentIntent p;
    p.id = j.at("id").get<std::string>();
    p.reservation_id = j.at("reservation_id").get<std::string>();
    p.user_id = j.at("user_id").get<std::string>();
    p.amount = j.at("amount").get<std::int64_t>();
    p.currency = j.value("currency", "");
    auto status = parse_payment_status(j.at("status").get<std::string>());
    if (!status) throw std::runtime_error("unknown payment status");
    p.status = *status;
    p.scenario = j.value("scenario", "");
    p.refund_required = j.value("refund_required", false);
    p.created_at_ms = j.value("created_at_ms", std::int64_t{0});
    p.updated_at_ms = j.value("updated_at_ms", std::int64_t{0});
    return p;
  });
}

std::string to_json(const Job& job) {
  return json{{"id", job.id},
              {"kind", job.kind},
              {"payload", job.payload},
              {"run_at_ms", job.run_at_ms},
              {"attempts", job.attempts}}
      .dump();
}

Result<Job> job_from_json(std::string_view body) {
  return decode<Job>(body, "job", [](const json& j) {
    Job job;
    job.id = j.at("id").get<std::int64_t>();
    job.kind = j.at("kind").get<std::string>();
    job.payload = j.at("payload").get<std::string>();
    job.run_at_ms = j.value("run_at_ms", std::int64_t{0});
    job.attempts = j.value("attempts", 0);
    return job;
  });
}

}  // namespace tacos::store

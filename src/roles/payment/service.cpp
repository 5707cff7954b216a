#include "roles/payment/service.hpp"

#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/tracing.hpp"

namespace tacos::payment {

using nlohmann::json;
using store::PaymentStatus;
using store::ReservationStatus;

namespace {
constexpr std::string_view kSettleJob = "payment.settle";
constexpr std::string_view kDeliverJob = "webhook.deliver";
}  // namespace

std::optional<Action> parse_action(std::string_view s) {
  if (s == "approve") return Action::approve;
  if (s == "fail") return Action::fail;
  if (s == "delay") return Action::delay;
  if (s == "timeout") return Action::timeout;
  if (s == "random") return Action::random;
  return std::nullopt;
}

std::string_view to_string(Action a) {
  switch (a) {
    case Action::approve:
      return "approve";
    case Action::fail:
      return "fail";
    case Action::delay:
      return "delay";
    case Action::timeout:
      return "timeout";
    case Action::random:
      return "random";
  }
  return "approve";
}

std::string intent_json(const store::PaymentIntent& p) {
  json j{{"payment_intent_id", p.id},
         {"status", std::string(store::to_string(p.status))},
         {"amount", p.amount},
         {"currency", p.currency},
         {"reservation_id", p.reservation_id},
         {"refund_required", p.refund_required}};
  if (!p.scenario.empty()) j["scenario"] = p.scenario;
  return j.dump();
}

PaymentService::PaymentService(store::Ledger& ledger, store::JobQueue& jobs,
                               reservation::ReservationClient& reservations, const Clock& clock, Settings settings,
                               const auth::WebhookSigner& signer, metrics::Registry& metrics)
    : ledger_(ledger),
      jobs_(jobs),
      reservations_(reservations),
      clock_(clock),
      s_(settings),
      signer_(signer),
      metrics_(metrics),
      price_mismatches_(metrics.counter("tacos_payment_client_price_mismatches_total")) {}

bool PaymentService::random_approves() {
  std::lock_guard lock(rng_mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < s_.random_approval_rate;
}

void PaymentService::create_intent(const net::Identity& who, IntentRequest req, Done<store::PaymentIntent> done) {
  // The reservation role says whether the hold is the caller's and live, and what it costs.
  auto id = req.reservation_id;
  reservations_.get(id, [this, who, req = std::move(req), done](Result<store::Reservation> r) mutable {
    if (!r && r.error().code != Errc::not_found) return done(r.error());
    if (!r || (r->user_id != who.user_id && !who.is_admin())) {
      return done(Error(Errc::not_found, "no reservation '" + req.reservation_id + "'"));
    }
    if (r->status != ReservationStatus::hold || clock_.now_ms() >= r->hold_expires_at_ms) {
      return done(Error(Errc::payment_not_payable,
                        "reservation is " + std::string(store::to_string(r->status)) + ", not an active hold"));
    }
    insert_intent(std::move(req), std::move(*r), std::move(done));
  });
}

void PaymentService::insert_intent(IntentRequest req, store::Reservation r, Done<store::PaymentIntent> done) {
  struct Outcome {
    std::optional<store::PaymentIntent> intent;
    bool created = false;
    std::optional<store::Job> settle_job;
    std::int64_t charged = 0;
    std::string currency;
  };
  auto out = std::make_shared<Outcome>();  // assigned, not appended: apply may run twice
  bool approve_if_random = req.scenario == Action::random && random_approves();
  auto trace = net::tracing::current_traceparent();  // the jobs written here link back to this request
  ledger_.submit(store::WriteOp{
      [=, this](store::WriteTx& tx) -> Status {
        *out = Outcome{};
        out->charged = r.total_amount;
        out->currency = r.currency;
        std::optional<store::PaymentIntent> p = tx.open_payment_for(req.reservation_id);
        if (!p) {
          p.emplace();
          p->id = new_id("pi_", 20);
          p->reservation_id = req.reservation_id;
          p->user_id = r.user_id;
          p->amount = r.total_amount;  // the server's price, whatever the client sent
          p->currency = r.currency;
          p->created_at_ms = p->updated_at_ms = tx.now_ms();
          tx.insert_payment(*p);
          out->created = true;
        }
        if (req.scenario && p->status == PaymentStatus::pending) {
          Action a = *req.scenario;
          bool approve = a == Action::approve || a == Action::delay || (a == Action::random && approve_if_random);
          out->settle_job =
              start_processing(tx, *p, a, approve, a == Action::delay ? s_.delay_ms : s_.settle_after_ms, trace);
          p = tx.payment(p->id);
        }
        out->intent = p;
        return {};
      },
      [this, out, req, done](const Status& st) {
        if (!st) return done(st.error());
        bool amount_differs = req.amount && *req.amount != out->charged;
        bool currency_differs = req.currency && *req.currency != out->currency;
        if (amount_differs || currency_differs) {
          price_mismatches_.inc();
          log::warn(
              "payment intent: the client's price differs from the reservation's; charging the reservation's",
              {log::str("reservation_id", req.reservation_id), log::str("payment_intent_id", out->intent->id),
               log::num("client_amount", req.amount.value_or(out->charged)), log::num("amount", out->charged),
               log::str("client_currency", req.currency.value_or(out->currency)), log::str("currency", out->currency)});
        }
        if (out->created) count("created");
        if (out->settle_job) jobs_.enqueued(*out->settle_job);
        done(*out->intent);
      }});
}

std::optional<store::Job> PaymentService::start_processing(store::WriteTx& tx, const store::PaymentIntent& p,
                                                           Action action, bool approve, std::int64_t after_ms,
                                                           const std::string& trace) {
  tx.transition_payment(p.id, PaymentStatus::pending, PaymentStatus::processing, to_string(action));
  if (action == Action::timeout) return std::nullopt;  // the simulated provider never answers; the hold expires
  store::Job job;
  job.kind = kSettleJob;
  job.payload = json{{"payment_intent_id", p.id}, {"approve", approve}, {"scenario", to_string(action)}}.dump();
  job.run_at_ms = tx.now_ms() + after_ms;
  job.trace_parent = trace;
  job.id = tx.add_job(job.kind, job.payload, job.run_at_ms, job.trace_parent);
  return job;
}

std::optional<store::Job> PaymentService::settle(store::WriteTx& tx, const store::PaymentIntent& p, PaymentStatus from,
                                                 bool approved, std::string_view scenario, const std::string& trace) {
  auto to = approved ? PaymentStatus::approved : PaymentStatus::failed;
  if (!tx.transition_payment(p.id, from, to, scenario)) return std::nullopt;
  std::string type = approved ? "payment.approved" : "payment.failed";
  json data{{"payment_intent_id", p.id},
            {"reservation_id", p.reservation_id},
            {"amount", p.amount},
            {"status", std::string(store::to_string(to))}};
  tx.add_outbox(type, p.id, data.dump());
  // The webhook id is fixed now, so every retry of the delivery carries the same one.
  json body{{"id", new_id("whe_", 20)}, {"type", type}, {"created", tx.now_ms() / 1000}, {"data", data}};
  store::Job job;
  job.kind = kDeliverJob;
  job.payload = body.dump();
  job.run_at_ms = tx.now_ms();
  job.trace_parent = trace;
  job.id = tx.add_job(job.kind, job.payload, job.run_at_ms, job.trace_parent);
  return job;
}

void PaymentService::process(const net::Identity& who, std::string intent_id, Action action,
                             Done<store::PaymentIntent> done) {
  bool approve_if_random = action == Action::random && random_approves();
  auto trace = net::tracing::current_traceparent();
  auto out = std::make_shared<std::optional<store::PaymentIntent>>();
  auto scheduled = std::make_shared<std::optional<store::Job>>();  // assigned, not appended: apply may run twice
  ledger_.submit(store::WriteOp{[=, this](store::WriteTx& tx) -> Status {
                                  auto p = tx.payment(intent_id);
                                  if (!p || (p->user_id != who.user_id && !who.is_admin())) {
                                    return Error(Errc::not_found, "no payment intent '" + intent_id + "'");
                                  }
                                  if (p->status != PaymentStatus::pending) {
                                    *out = *p;  // already processed: report where it stands
                                    return {};
                                  }
                                  std::optional<store::Job> job;
                                  switch (action) {
                                    case Action::approve:
                                      job = settle(tx, *p, PaymentStatus::pending, true, "approve", trace);
                                      break;
                                    case Action::fail:
                                      job = settle(tx, *p, PaymentStatus::pending, false, "fail", trace);
                                      break;
                                    case Action::random:
                                      job = settle(tx, *p, PaymentStatus::pending, approve_if_random, "random", trace);
                                      break;
                                    case Action::delay:
                                      job = start_processing(tx, *p, action, true, s_.delay_ms, trace);
                                      break;
                                    case Action::timeout:
                                      job = start_processing(tx, *p, action, false, 0, trace);
                                      break;
                                  }
                                  *scheduled = job;
                                  *out = tx.payment(intent_id);
                                  return {};
                                },
                                [this, out, scheduled, done](const Status& st) {
                                  if (!st) return done(st.error());
                                  if (*scheduled) {
                                    count_settled(**scheduled);
                                    jobs_.enqueued(**scheduled);
                                  }
                                  done(**out);
                                }});
}

Result<store::PaymentIntent> PaymentService::get(const net::Identity& who, std::string_view intent_id) {
  auto p = ledger_.payment(intent_id);
  if (!p || (p->user_id != who.user_id && !who.is_admin())) {
    return Error(Errc::not_found, "no payment intent '" + std::string(intent_id) + "'");
  }
  return *p;
}

void PaymentService::run_job(const store::Job& job, std::function<void(Status)> finish) {
  if (job.kind == kSettleJob) return settle_job(job, std::move(finish));
  if (job.kind == kDeliverJob) return deliver_job(job, std::move(finish));
  finish(Error(Errc::internal, "the payment role runs no job of kind " + job.kind));
}

void PaymentService::settle_job(const store::Job& job, std::function<void(Status)> finish) {
  auto payload = json::parse(job.payload, nullptr, false);
  if (!payload.is_object()) return finish(Error(Errc::internal, "malformed settle job"));
  std::string id = payload.value("payment_intent_id", "");
  bool approve = payload.value("approve", true);
  std::string scenario = payload.value("scenario", "delay");  // jobs written before scenarios on intents
  auto webhook = std::make_shared<std::optional<store::Job>>();
  auto trace = net::tracing::current_traceparent();  // the settlement's run (JobRunner's span)
  ledger_.submit(store::WriteOp{[=, this](store::WriteTx& tx) -> Status {
                                  auto p = tx.payment(id);
                                  if (!p) return Error(Errc::not_found, "no payment intent " + id);
                                  if (p->status == PaymentStatus::processing) {
                                    *webhook = settle(tx, *p, PaymentStatus::processing, approve, scenario, trace);
                                  }
                                  return {};  // already settled: nothing to do (idempotent)
                                },
                                [this, webhook, finish](const Status& st) {
                                  if (st && *webhook) {
                                    count_settled(**webhook);
                                    jobs_.enqueued(**webhook);
                                  }
                                  finish(st);
                                }});
}

void PaymentService::count(std::string_view outcome) {
  metrics_.counter("tacos_payment_intents_total", {{"outcome", std::string(outcome)}}).inc();
}

void PaymentService::count_settled(const store::Job& job) {
  if (job.kind != kDeliverJob) return;  // processing: settled by a later job
  auto body = json::parse(job.payload, nullptr, false);
  count(body.is_object() && body.value("type", "") == "payment.approved" ? "approved" : "failed");
}

void PaymentService::deliver_job(const store::Job& job, std::function<void(Status)> finish) {
  if (!transport_) return finish(Error(Errc::unavailable, "no webhook receiver is configured"));
  transport_(job.payload, signer_.sign(job.payload), std::move(finish));
}

}  // namespace tacos::payment

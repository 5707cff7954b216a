#include "roles/payment/service.hpp"

#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "common/log.hpp"

namespace tacos::payment {

using nlohmann::json;
using store::PaymentStatus;
using store::ReservationStatus;

namespace {
constexpr std::string_view kSettleJob = "payment.settle";
}

std::optional<Action> parse_action(std::string_view s) {
  if (s == "approve") return Action::approve;
  if (s == "fail") return Action::fail;
  if (s == "delay") return Action::delay;
  if (s == "timeout") return Action::timeout;
  if (s == "random") return Action::random;
  return std::nullopt;
}

std::string intent_json(const store::PaymentIntent& p) {
  return json{{"payment_intent_id", p.id},
              {"status", std::string(store::to_string(p.status))},
              {"amount", p.amount},
              {"currency", p.currency},
              {"reservation_id", p.reservation_id},
              {"refund_required", p.refund_required}}
      .dump();
}

PaymentService::PaymentService(store::Ledger& ledger, worker::JobRunner& jobs, const Clock& clock, Settings settings,
                               const auth::WebhookSigner& signer, metrics::Registry& metrics)
    : ledger_(ledger), jobs_(jobs), clock_(clock), s_(settings), signer_(signer), metrics_(metrics) {}

bool PaymentService::random_approves() {
  std::lock_guard lock(rng_mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < s_.random_approval_rate;
}

void PaymentService::create_intent(const net::Identity& who, std::string reservation_id,
                                   std::optional<std::int64_t> amount, Done<store::PaymentIntent> done) {
  auto out = std::make_shared<std::optional<store::PaymentIntent>>();
  ledger_.submit(store::WriteOp{
      [=, this](store::WriteTx& tx) -> Status {
        auto r = tx.reservation(reservation_id);
        if (!r || (r->user_id != who.user_id && !who.is_admin())) {
          return Error(Errc::not_found, "no reservation '" + reservation_id + "'");
        }
        if (r->status != ReservationStatus::hold || tx.now_ms() >= r->hold_expires_at_ms) {
          return Error(Errc::payment_not_payable,
                       "reservation is " + std::string(store::to_string(r->status)) + ", not an active hold");
        }
        if (amount && *amount != r->total_amount) {
          return Error(Errc::amount_mismatch, "the amount must be " + std::to_string(r->total_amount) +
                                                  " (the reservation's total), not " + std::to_string(*amount),
                       "amount");
        }
        if (auto open = tx.open_payment_for(reservation_id)) {
          *out = *open;
          return {};
        }
        store::PaymentIntent p;
        p.id = new_id("pi_", 20);
        p.reservation_id = reservation_id;
        p.user_id = r->user_id;
        p.amount = r->total_amount;
        p.currency = r->currency;
        p.created_at_ms = p.updated_at_ms = tx.now_ms();
        tx.insert_payment(p);
        *out = p;
        return {};
      },
      [out, done](const Status& st) {
        if (!st) return done(st.error());
        done(**out);
      }});
}

std::optional<store::Job> PaymentService::settle(store::WriteTx& tx, const store::PaymentIntent& p, PaymentStatus from,
                                                 bool approved, std::string_view scenario) {
  auto to = approved ? PaymentStatus::approved : PaymentStatus::failed;
  if (!tx.transition_payment(p.id, from, to, scenario)) return std::nullopt;
  std::string type = approved ? "payment.approved" : "payment.failed";
  json data{{"payment_intent_id", p.id}, {"reservation_id", p.reservation_id}, {"amount", p.amount},
            {"status", std::string(store::to_string(to))}};
  tx.add_outbox(type, p.id, data.dump());
  // The webhook id is fixed now, so every retry of the delivery carries the same one.
  json body{{"id", new_id("whe_", 20)}, {"type", type}, {"created", tx.now_ms() / 1000}, {"data", data}};
  store::Job job;
  job.kind = "webhook.deliver";
  job.payload = body.dump();
  job.run_at_ms = tx.now_ms();
  job.id = tx.add_job(job.kind, job.payload, job.run_at_ms);
  return job;
}

void PaymentService::process(const net::Identity& who, std::string intent_id, Action action,
                             Done<store::PaymentIntent> done) {
  bool approve_if_random = action == Action::random && random_approves();
  auto out = std::make_shared<std::optional<store::PaymentIntent>>();
  auto scheduled = std::make_shared<std::optional<store::Job>>();  // assigned, not appended: apply may run twice
  ledger_.submit(store::WriteOp{
      [=, this](store::WriteTx& tx) -> Status {
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
          case Action::approve: job = settle(tx, *p, PaymentStatus::pending, true, "approve"); break;
          case Action::fail: job = settle(tx, *p, PaymentStatus::pending, false, "fail"); break;
          case Action::random: job = settle(tx, *p, PaymentStatus::pending, approve_if_random, "random"); break;
          case Action::delay: {
            tx.transition_payment(p->id, PaymentStatus::pending, PaymentStatus::processing, "delay");
            store::Job settle_job;
            settle_job.kind = kSettleJob;
            settle_job.payload = json{{"payment_intent_id", p->id}, {"approve", true}}.dump();
            settle_job.run_at_ms = tx.now_ms() + s_.delay_ms;
            settle_job.id = tx.add_job(settle_job.kind, settle_job.payload, settle_job.run_at_ms);
            job = settle_job;
            break;
          }
          case Action::timeout:
            // The simulated provider never answers: no webhook, the hold will expire.
            tx.transition_payment(p->id, PaymentStatus::pending, PaymentStatus::processing, "timeout");
            break;
        }
        *scheduled = job;
        *out = tx.payment(intent_id);
        return {};
      },
      [this, out, scheduled, done](const Status& st) {
        if (!st) return done(st.error());
        if (*scheduled) jobs_.schedule(**scheduled);
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

void PaymentService::settle_job(const store::Job& job, std::function<void(Status)> finish) {
  auto payload = json::parse(job.payload, nullptr, false);
  if (!payload.is_object()) return finish(Error(Errc::internal, "malformed settle job"));
  std::string id = payload.value("payment_intent_id", "");
  bool approve = payload.value("approve", true);
  auto webhook = std::make_shared<std::optional<store::Job>>();
  ledger_.submit(store::WriteOp{[=, this](store::WriteTx& tx) -> Status {
                                  auto p = tx.payment(id);
                                  if (!p) return Error(Errc::not_found, "no payment intent " + id);
                                  if (p->status == PaymentStatus::processing) {
                                    *webhook = settle(tx, *p, PaymentStatus::processing, approve, "delay");
                                  }
                                  return {};  // already settled: nothing to do (idempotent)
                                },
                                [this, webhook, finish](const Status& st) {
                                  if (st && *webhook) jobs_.schedule(**webhook);
                                  finish(st);
                                }});
}

void PaymentService::deliver_job(const store::Job& job, std::function<void(Status)> finish) {
  if (!transport_) return finish(Error(Errc::unavailable, "no webhook receiver is configured"));
  transport_(job.payload, signer_.sign(job.payload), std::move(finish));
}

}  // namespace tacos::payment

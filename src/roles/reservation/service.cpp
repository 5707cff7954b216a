#include "roles/reservation/service.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"
#include "net/offload.hpp"
#include "store/seats.hpp"

namespace tacos::reservation {

using nlohmann::json;
using store::PaymentStatus;
using store::ReservationStatus;

// Both renderings below run on every hold; keys stay in alphabetical order (what nlohmann::json
// wrote before), so the bytes are unchanged. Both end with the same members, from "quantity".
namespace {
void end_with_quantity_to_user(JsonWriter& w, const store::Reservation& r) {
  w.member("quantity", r.quantity)
      .member("reservation_id", r.id)
      .member("seat_ids", r.seat_ids)
      .member("status", store::to_string(r.status))
      .member("total_amount", r.total_amount)
      .member("user_id", r.user_id)
      .end_object();
}
}  // namespace

std::string event_payload(const store::Reservation& r) {
  JsonWriter w;
  w.begin_object().member("event_id", r.event_id);
  end_with_quantity_to_user(w, r);
  return w.take();
}

namespace {

// Whether `req` asks for what `r` (made under the same Idempotency-Key) holds.
bool same_request(const store::Reservation& r, const CreateRequest& req) {
  if (r.event_id != req.event_id) return false;
  if (req.seat_ids.empty()) return r.seat_ids.empty() && r.quantity == req.quantity;
  auto asked = req.seat_ids;
  auto held = r.seat_ids;
  std::sort(asked.begin(), asked.end());
  std::sort(held.begin(), held.end());
  return asked == held;
}

}  // namespace

namespace {
Error ticket_limit_error(int limit, std::int64_t have) {
  return Error(Errc::ticket_limit_reached, "this event allows " + std::to_string(limit) +
                                               " tickets per fan, and you already hold or bought " +
                                               std::to_string(have));
}
}  // namespace

Status write_new_hold(store::WriteTx& tx, const store::Reservation& r, const inventory::HoldPlan& plan,
                      std::string_view created_event) {
  if (plan.max_tickets_per_user > 0) {
    // Decided here, in the writer's order, so two holds of one fan racing each other cannot both pass.
    auto have = tx.tickets_of(r.user_id, r.event_id);
    if (have + plan.quantity > plan.max_tickets_per_user) return ticket_limit_error(plan.max_tickets_per_user, have);
  }
  // The entry token is spent here, with the hold: a hold that fails (seat taken, store away,
  // process killed) leaves it unspent, and two requests with one token cannot both hold.
  if (!r.queue_ticket.empty() && !tx.spend_token(r.event_id + "/" + r.queue_ticket, r.event_id, r.user_id))
    return Error(Errc::token_used, "this reservation token has already been used");
  if (auto st = tx.insert_reservation(r); !st) return st;
  if (auto st = store::write_hold(tx, plan.event_id, plan.seat_ids, plan.quantity, r.id); !st) return st;
  tx.add_outbox("reservation.created", r.id, created_event);
  // No expiry job: the worker's hold expiry (worker/hold_expiry.cpp) finds it by its hold_expires_at.
  return {};
}

std::string reservation_json(const store::Reservation& r) {
  JsonWriter w(384);
  w.begin_object().member("created_at", format_rfc3339(r.created_at_ms)).member("currency", r.currency);
  if (!r.end_reason.empty()) w.member("end_reason", r.end_reason);
  w.member("event_id", r.event_id).member("hold_expires_at", format_rfc3339(r.hold_expires_at_ms));
  if (!r.payment_intent_id.empty()) w.member("payment_intent_id", r.payment_intent_id);
  end_with_quantity_to_user(w, r);
  return w.take();
}

namespace {
// Hold expiry lag: the sweep runs every 20 ms, so anything past a second is a backlog.
const std::vector<double> kExpiryLagBuckets{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
}  // namespace

ReservationService::ReservationService(store::Ledger& ledger, inventory::InventoryClient& inventory,
                                       queue::QueueClient& queue, payment::PaymentClient& payments,
                                       const auth::WebhookSigner& webhook_signer, const Clock& clock,
                                       metrics::Registry& metrics, net::BlockingPool* reads)
    : ledger_(ledger),
      inventory_(inventory),
      queue_(queue),
      payments_(payments),
      webhook_signer_(webhook_signer),
      clock_(clock),
      reads_(reads),
      metrics_(metrics),
      holds_(metrics.counter("tacos_reservation_holds_total")),
      confirmed_(metrics.counter("tacos_reservation_confirmed_total")),
      expired_(metrics.counter("tacos_reservation_expired_total")),
      cancelled_(metrics.counter("tacos_reservation_cancelled_total")),
      expiry_lag_(metrics.histogram("tacos_reservation_hold_expiry_lag_seconds", {}, kExpiryLagBuckets)) {}

void ReservationService::count_hold_failure(const Error& e) {
  std::string reason(errc_info(e.code).code);
  std::transform(reason.begin(), reason.end(), reason.begin(), [](unsigned char c) { return std::tolower(c); });
  metrics_.counter("tacos_reservation_hold_failures_total", {{"reason", reason}}).inc();
}

std::int64_t ReservationService::tickets_of(std::string_view user_id, std::string_view event_id) {
  std::int64_t n = 0;
  for (const auto& r : ledger_.reservations_of(user_id, kMaxReservationsRead)) {
    if (r.event_id == event_id && (r.status == ReservationStatus::hold || r.status == ReservationStatus::confirmed)) {
      n += r.quantity;
    }
  }
  return n;
}

bool ReservationService::answer_replay(const CreateRequest& req, const Done<Created>& done) {
  if (req.idempotency_key.empty()) return false;
  std::optional<store::Reservation> r;
  try {
    r = ledger_.reservation_by_key(req.user_id, req.idempotency_key);
  } catch (const UnavailableError& e) {
    // Whether this is a replay cannot be told now: the buyer asks again.
    done(Error(Errc::unavailable, e.what()));
    return true;
  }
  if (!r) return false;
  // The key names one request (DESIGN.md §4): the same key with other seats is refused.
  if (!same_request(*r, req)) {
    done(Error(Errc::idempotency_key_mismatch, "this Idempotency-Key was used for another request"));
  } else {
    done(Created{*r, true});
  }
  return true;
}

// What a new hold carries from step to step, in one allocation its callbacks share.
struct ReservationService::Hold {
  CreateRequest req;
  Done<Created> done;
  queue::Admission admission;
  inventory::HoldPlan plan;
  store::Reservation r;
  std::string created_event;
  // A replay of a request that already succeeded answers with what it made. The gateway's
  // idempotency middleware answers most replays; the ones that reach this far (after a restart,
  // or once its memory let the key go) cannot go ahead as new requests: their token is spent or
  // their seats are theirs already, or the store refuses a second reservation under the key. So
  // the store is asked for the key only when the request fails, and a new hold costs no read.
  void fail(ReservationService& s, Error e) {
    if (!s.answer_replay(req, done)) done(std::move(e));
  }
};

void ReservationService::create(CreateRequest req, Done<Created> done) {
  auto h = std::make_shared<Hold>();
  h->req = std::move(req);
  h->done = [this, done = std::move(done)](Result<Created> r) {
    if (!r) count_hold_failure(r.error());
    done(std::move(r));
  };
  // Check the entry token before taking seats, take them, then write the hold and spend the token
  // in one transaction (write_new_hold): a request that loses the race for a seat, or whose write
  // fails, keeps its token and can try again; the store decides which of two racing uses wins.
  queue_.check_reservation_token(
      h->req.reservation_token, h->req.event_id, h->req.user_id, [this, h](Result<queue::Admission> admission) {
        if (!admission) {
          return net::on_store_thread(reads_, [this, h, e = admission.error()] { h->fail(*this, e); });
        }
        h->admission = std::move(*admission);
        take_seats(h);
      });
}

void ReservationService::take_seats(std::shared_ptr<Hold> h) {
  inventory_.hold(inventory::HoldRequest{h->req.event_id, h->req.seat_ids, h->req.quantity},
                  [this, h](Result<inventory::HoldPlan> plan) {
                    net::on_store_thread(reads_, [this, h, plan = std::move(plan)]() mutable { planned(h, plan); });
                  });
}

void ReservationService::planned(const std::shared_ptr<Hold>& h, Result<inventory::HoldPlan>& plan) {
  if (!plan) return h->fail(*this, plan.error());
  h->plan = std::move(*plan);
  if (h->plan.max_tickets_per_user > 0) {
    // Checked before the token is spent too, so a fan at the limit keeps it (to cancel a hold and
    // come back); the ledger op decides races.
    std::int64_t have = 0;
    try {
      have = tickets_of(h->req.user_id, h->req.event_id);
    } catch (const UnavailableError& e) {
      inventory_.undo_hold(h->plan);
      return h->done(Error(Errc::unavailable, e.what()));
    }
    if (have + h->plan.quantity > h->plan.max_tickets_per_user) {
      inventory_.undo_hold(h->plan);
      return h->fail(*this, ticket_limit_error(h->plan.max_tickets_per_user, have));
    }
  }
  write(h);
}

void ReservationService::write(std::shared_ptr<Hold> h) {
  auto now = clock_.now_ms();
  auto& r = h->r;
  r.id = new_time_ordered_id("rsv_", now);  // appended to the primary-key index, not scattered
  r.event_id = h->req.event_id;
  r.user_id = h->req.user_id;
  r.status = ReservationStatus::hold;
  r.seat_ids = h->plan.seat_ids;
  r.quantity = h->plan.quantity;
  r.total_amount = h->plan.amount;
  r.currency = h->plan.currency;
  r.hold_expires_at_ms = now + static_cast<std::int64_t>(h->plan.hold_ttl_sec) * 1000;
  r.created_at_ms = r.updated_at_ms = now;
  r.queue_ticket = h->admission.ticket;
  r.idempotency_key = h->req.idempotency_key;
  // Rendered here, on the request's thread: the writer thread is the one everybody waits for.
  h->created_event = event_payload(r);
  ledger_.submit(store::WriteOp{
      [h](store::WriteTx& tx) -> Status { return write_new_hold(tx, h->r, h->plan, h->created_event); },
      [this, h](const Status& st) {
        if (!st) {
          auto code = st.error().code;
          const bool taken = code == Errc::seat_unavailable || code == Errc::sold_out;
          if (taken) {
            // The inventory's memory let it through, the store did not: it is behind.
            inventory_.changed(inventory::SeatChange{inventory::SeatChange::Kind::refused, h->plan.event_id,
                                                     h->plan.seat_ids, h->plan.quantity, h->plan.hint_id});
          } else {
            inventory_.undo_hold(h->plan);
          }
          // Nothing committed, so the token is not spent. Unless this is a retry of a request
          // that succeeded (its answer lost, say, with the replica that wrote it): its hold spent
          // the token, took the key and holds the seats, so the store refuses it for any of these.
          // Then replay (or refuse a different request under the key), as above.
          if (taken || code == Errc::idempotency_key_mismatch || code == Errc::token_used)
            return h->fail(*this, st.error());
          return h->done(st.error());
        }
        // The queue learns that the entry was used (its place moves on and keeps the active-buyer
        // slot until the hold ends); the store already decided it.
        queue_.consume(h->admission, [id = h->r.id](Status recorded) {
          if (!recorded)
            log::warn("the queue did not record a spent token",
                      {log::str("reservation_id", id), log::str("error", recorded.error().message)});
        });
        inventory_.changed(inventory::SeatChange{inventory::SeatChange::Kind::held, h->plan.event_id, h->plan.seat_ids,
                                                 h->plan.quantity, h->plan.hint_id});
        holds_.inc();
        // Called once, after the write ran for the last time: the reservation is not needed again.
        h->done(Created{std::move(h->r), false});
      }});
}

Status ReservationService::release_in_tx(store::WriteTx& tx, store::Reservation r, ReservationStatus to,
                                         std::string_view reason, Effects& fx) {
  if (!tx.transition_reservation(r.id, ReservationStatus::hold, to, "", reason)) return {};
  if (auto st = store::write_release(tx, r); !st) return st;
  r.status = to;
  r.end_reason = std::string(reason);
  tx.add_outbox(to == ReservationStatus::expired ? "reservation.expired" : "reservation.cancelled", r.id,
                event_payload(r));
  fx.released = r;
  return {};
}

Status ReservationService::confirm_in_tx(store::WriteTx& tx, const std::string& reservation_id,
                                         const store::PaymentIntent& payment, Effects& fx) {
  auto r = tx.reservation(reservation_id);
  if (!r) return Error(Errc::not_found, "no reservation '" + reservation_id + "'");
  if (payment.status != PaymentStatus::approved) {
    fx.outcome = Outcome::not_approved;
    return {};
  }
  if (r->status == ReservationStatus::confirmed) {
    if (r->payment_intent_id == payment.id) {
      fx.outcome = Outcome::already_confirmed;
    } else {
      // A second approved payment for a reservation that is already paid: refund it.
      tx.require_refund(payment.id);
      tx.add_outbox("payment.refund_required", payment.id, json{{"reservation_id", r->id}}.dump());
      fx.outcome = Outcome::refund_only;
    }
    return {};
  }
  if (r->status == ReservationStatus::hold && tx.now_ms() < r->hold_expires_at_ms) {
    if (!tx.transition_reservation(r->id, ReservationStatus::hold, ReservationStatus::confirmed, payment.id, "")) {
      return Error(Errc::conflict, "the reservation changed while confirming");
    }
    if (auto st = store::write_sell(tx, *r); !st) return st;
    store::Order o{new_id("ord_", 20), r->id,           payment.id,  r->user_id,
                   r->event_id,        r->total_amount, r->currency, tx.now_ms()};
    tx.insert_order(o);
    r->status = ReservationStatus::confirmed;
    r->payment_intent_id = payment.id;
    tx.add_outbox("reservation.confirmed", r->id, event_payload(*r));
    fx.sold = *r;
    fx.outcome = Outcome::confirmed;
    return {};
  }
  // Too late: the hold ran out (release it now if the expiry job has not yet) and the money goes back.
  if (r->status == ReservationStatus::hold) {
    if (auto st = release_in_tx(tx, *r, ReservationStatus::expired, "hold_expired", fx); !st) return st;
  }
  tx.require_refund(payment.id);
  tx.add_outbox("payment.refund_required", payment.id, json{{"reservation_id", r->id}}.dump());
  fx.outcome = r->status == ReservationStatus::cancelled ? Outcome::cancelled : Outcome::expired;
  return {};
}

void ReservationService::apply(const Effects& fx) {
  if (fx.released) {
    inventory_.changed(inventory::SeatChange{inventory::SeatChange::Kind::released,
                                             fx.released->event_id,
                                             fx.released->seat_ids,
                                             fx.released->quantity,
                                             {}});
    queue_.buyer_finished(fx.released->event_id, fx.released->queue_ticket);
    if (fx.released->status == ReservationStatus::expired) {
      expired_.inc();
      auto lag_ms = std::max<std::int64_t>(0, clock_.now_ms() - fx.released->hold_expires_at_ms);
      expiry_lag_.observe(static_cast<double>(lag_ms) / 1000.0);
    } else {
      cancelled_.inc();
    }
  }
  if (fx.sold) {
    inventory_.changed(inventory::SeatChange{
        inventory::SeatChange::Kind::sold, fx.sold->event_id, fx.sold->seat_ids, fx.sold->quantity, {}});
    queue_.buyer_finished(fx.sold->event_id, fx.sold->queue_ticket);
    confirmed_.inc();
    metrics_.counter("tacos_reservation_seats_sold_total", {{"event", fx.sold->event_id}})
        .inc(static_cast<std::uint64_t>(fx.sold->quantity));
  }
}

void ReservationService::confirm(const net::Identity& who, std::string reservation_id, std::string payment_intent_id,
                                 Done<store::Reservation> done) {
  // The payment role says where the intent stands; its approval is final, so it can be asked first.
  payments_.get(payment_intent_id, [=, this](Result<store::PaymentIntent> p) {
    if (!p && p.error().code != Errc::not_found) return done(p.error());
    if (!p || p->reservation_id != reservation_id) {
      return done(Error(Errc::payment_not_approved,
                        "payment intent '" + payment_intent_id + "' does not belong to this reservation"));
    }
    confirm_with(who, reservation_id, *p, done);
  });
}

void ReservationService::confirm_with(const net::Identity& who, std::string reservation_id,
                                      store::PaymentIntent payment, Done<store::Reservation> done) {
  auto fx = std::make_shared<Effects>();
  ledger_.submit(store::WriteOp{
      [=, this](store::WriteTx& tx) -> Status {
        auto r = tx.reservation(reservation_id);
        if (!r || (r->user_id != who.user_id && !who.is_admin())) {
          return Error(Errc::not_found, "no reservation '" + reservation_id + "'");
        }
        return confirm_in_tx(tx, reservation_id, payment, *fx);
      },
      [this, fx, reservation_id, done](const Status& st) {
        if (!st) return done(st.error());
        apply(*fx);
        switch (fx->outcome) {
          case Outcome::not_approved:
            return done(Error(Errc::payment_not_approved, "the payment has not been approved"));
          case Outcome::expired:
            return done(Error(Errc::reservation_expired, "the hold expired before the payment; it will be refunded"));
          case Outcome::cancelled:
            return done(
                Error(Errc::reservation_cancelled, "the reservation was cancelled; the payment will be refunded"));
          case Outcome::refund_only:
            return done(
                Error(Errc::conflict, "the reservation was paid with another payment; this one will be refunded"));
          default:
            break;
        }
        auto r = ledger_.reservation(reservation_id);
        if (!r) return done(Error(Errc::internal, "confirmed reservation not found"));
        done(*r);
      }});
}

void ReservationService::cancel(const net::Identity& who, std::string reservation_id, Done<store::Reservation> done) {
  auto fx = std::make_shared<Effects>();
  ledger_.submit(store::WriteOp{[=, this](store::WriteTx& tx) -> Status {
                                  auto r = tx.reservation(reservation_id);
                                  if (!r || (r->user_id != who.user_id && !who.is_admin())) {
                                    return Error(Errc::not_found, "no reservation '" + reservation_id + "'");
                                  }
                                  switch (r->status) {
                                    case ReservationStatus::confirmed:
                                      return Error(Errc::reservation_not_cancellable,
                                                   "a confirmed reservation cannot be cancelled here");
                                    case ReservationStatus::expired:
                                      return Error(Errc::reservation_expired, "the hold has already expired");
                                    case ReservationStatus::cancelled:
                                      return {};  // cancelling twice is fine
                                    case ReservationStatus::hold:
                                      break;
                                  }
                                  return release_in_tx(tx, *r, ReservationStatus::cancelled, "cancelled_by_user", *fx);
                                },
                                [this, fx, reservation_id, done](const Status& st) {
                                  if (!st) return done(st.error());
                                  apply(*fx);
                                  auto r = ledger_.reservation(reservation_id);
                                  if (!r) return done(Error(Errc::internal, "cancelled reservation not found"));
                                  done(*r);
                                }});
}

Result<store::Reservation> ReservationService::get(const net::Identity& who, std::string_view id) {
  auto r = ledger_.reservation(id);
  if (!r || (r->user_id != who.user_id && !who.is_admin())) {
    return Error(Errc::not_found, "no reservation '" + std::string(id) + "'");
  }
  return *r;
}

std::vector<store::Reservation> ReservationService::list(const net::Identity& who) {
  return ledger_.reservations_of(who.user_id, 200);
}

void ReservationService::expire_job(const store::Job& job, std::function<void(Status)> finish) {
  auto payload = json::parse(job.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("reservation_id") || !payload["reservation_id"].is_string()) {
    return finish(Error(Errc::internal, "malformed expiry job"));
  }
  expire(payload["reservation_id"].get<std::string>(), std::move(finish));
}

void ReservationService::expire(std::string id, std::function<void(Status)> finish) {
  auto fx = std::make_shared<Effects>();
  ledger_.submit(store::WriteOp{[this, id, fx](store::WriteTx& tx) -> Status {
                                  auto r = tx.reservation(id);
                                  if (!r || r->status != ReservationStatus::hold)
                                    return {};  // confirmed, cancelled or done before
                                  if (tx.now_ms() < r->hold_expires_at_ms)
                                    return Error(Errc::unavailable, "not due yet");
                                  return release_in_tx(tx, *r, ReservationStatus::expired, "hold_expired", *fx);
                                },
                                [this, fx, finish](const Status& st) {
                                  if (st) apply(*fx);
                                  finish(st);
                                }});
}

void ReservationService::receive_webhook(std::string body, std::string signature, std::function<void(Status)> done) {
  if (auto st = webhook_signer_.verify(signature, body); !st) return done(st);
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("data") || !j["data"].is_object() ||
      !j["data"].contains("payment_intent_id") || !j["data"]["payment_intent_id"].is_string()) {
    return done(Error(Errc::validation_failed, "the webhook body is not a payment event"));
  }
  std::string webhook_id = j["id"].get<std::string>();
  std::string intent_id = j["data"]["payment_intent_id"].get<std::string>();
  // The event says what happened; the payment role says what is true now. Act on the latter.
  payments_.get(intent_id, [this, webhook_id, intent_id, done](Result<store::PaymentIntent> p) {
    if (!p) {
      if (p.error().code == Errc::not_found)
        return done(Error(Errc::not_found, "no payment intent '" + intent_id + "'"));
      return done(p.error());
    }
    settle_with(*p, webhook_id, done);
  });
}

void ReservationService::settle_with(const store::PaymentIntent& payment, std::string webhook_id,
                                     std::function<void(Status)> done) {
  auto fx = std::make_shared<Effects>();
  ledger_.submit(store::WriteOp{[this, webhook_id, payment, fx](store::WriteTx& tx) -> Status {
                                  if (!tx.record_webhook(webhook_id)) return {};  // seen before: already applied
                                  if (payment.status == PaymentStatus::approved) {
                                    return confirm_in_tx(tx, payment.reservation_id, payment, *fx);
                                  }
                                  if (payment.status == PaymentStatus::failed) {
                                    auto r = tx.reservation(payment.reservation_id);
                                    if (r && r->status == ReservationStatus::hold) {
                                      return release_in_tx(tx, *r, ReservationStatus::cancelled, "payment_failed", *fx);
                                    }
                                  }
                                  return {};
                                },
                                [this, fx, done](const Status& st) {
                                  if (st) apply(*fx);
                                  done(st);
                                }});
}

}  // namespace tacos::reservation

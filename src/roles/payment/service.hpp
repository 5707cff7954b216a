#pragma once
// The payment simulator: intents whose amount comes from the reservation, scenarios (approve,
// fail, delay, timeout, random) and signed webhooks to the reservation role, delivered by the
// worker with retries. Intents are durable; every change goes through the ledger.

#include <functional>
#include <optional>
#include <random>
#include <string>

#include "auth/webhook_signer.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "net/http.hpp"
#include "roles/reservation/client.hpp"
#include "store/jobs.hpp"
#include "store/ledger.hpp"

namespace tacos::payment {

enum class Action { approve, fail, delay, timeout, random };
std::optional<Action> parse_action(std::string_view s);
std::string_view to_string(Action a);

struct Settings {
  std::int64_t delay_ms = 3000;         // how long "delay" takes to approve
  std::int64_t settle_after_ms = 2000;  // an intent created with approve, fail or random settles after this
  double random_approval_rate = 0.7;    // share of "random" that approves
};

/// What a client said in its intent request beside the reservation. None of it decides the price:
/// an amount or currency other than the reservation's is logged and counted, not refused.
struct IntentRequest {
  std::string reservation_id;
  std::optional<std::int64_t> amount;
  std::optional<std::string> currency;
  std::optional<Action> scenario;  // settle by itself, as the original simulator did
};

/// Carries a signed webhook to the receiver: in-process or over HTTP. Calls done exactly once.
using WebhookTransport = std::function<void(std::string body, std::string signature, std::function<void(Status)> done)>;

class PaymentService {
 public:
  PaymentService(store::Ledger& ledger, store::JobQueue& jobs, reservation::ReservationClient& reservations,
                 const Clock& clock, Settings settings, const auth::WebhookSigner& signer, metrics::Registry& metrics);

  void set_transport(WebhookTransport transport) { transport_ = std::move(transport); }

  /// PAYMENT_NOT_PAYABLE unless the caller's reservation is on hold. The amount and currency are
  /// always the reservation's. An open intent is returned again. With a scenario, a pending
  /// intent starts processing at once and settles by itself: approve, fail and random after
  /// settle_after_ms, delay after delay_ms (both through a payment.settle job, then the signed
  /// webhook), timeout never.
  void create_intent(const net::Identity& who, IntentRequest req, Done<store::PaymentIntent> done);
  void process(const net::Identity& who, std::string intent_id, Action action, Done<store::PaymentIntent> done);
  /// The caller's own intent (admins see all); NOT_FOUND otherwise.
  Result<store::PaymentIntent> get(const net::Identity& who, std::string_view intent_id);

  /// Runs one of the role's jobs: payment.settle, webhook.deliver.
  void run_job(const store::Job& job, std::function<void(Status)> finish);
  void settle_job(const store::Job& job, std::function<void(Status)> finish);
  void deliver_job(const store::Job& job, std::function<void(Status)> finish);

 private:
  /// Moves an intent to its outcome and queues the webhook, inside the caller's transaction.
  /// `trace`: the traceparent of the request or job that decided it (the job keeps it).
  std::optional<store::Job> settle(store::WriteTx& tx, const store::PaymentIntent& p, store::PaymentStatus from,
                                   bool approved, std::string_view scenario, const std::string& trace);
  /// PENDING -> PROCESSING under `action`, and the settle job that finishes it after `after_ms`
  /// (none for timeout). `approve` is the outcome the job will apply.
  std::optional<store::Job> start_processing(store::WriteTx& tx, const store::PaymentIntent& p, Action action,
                                             bool approve, std::int64_t after_ms, const std::string& trace);
  bool random_approves();

  void insert_intent(IntentRequest req, store::Reservation r, Done<store::PaymentIntent> done);
  /// tacos_payment_intents_total: created, and approved or failed when a settlement commits
  /// (its webhook job says which).
  void count(std::string_view outcome);
  void count_settled(const store::Job& job);

  store::Ledger& ledger_;
  store::JobQueue& jobs_;
  reservation::ReservationClient& reservations_;
  const Clock& clock_;
  Settings s_;
  const auth::WebhookSigner& signer_;
  WebhookTransport transport_;
  metrics::Registry& metrics_;
  metrics::Counter& price_mismatches_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

/// `{payment_intent_id, status, amount, currency, reservation_id, refund_required}`.
std::string intent_json(const store::PaymentIntent& p);

}  // namespace tacos::payment

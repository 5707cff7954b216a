#pragma once
// The payment simulator: intents whose amount comes from the reservation, scenarios (approve,
// fail, delay, timeout, random) and signed webhooks to the reservation role, delivered by the
// worker with retries. Intents are durable; every change goes through the ledger.

#include <functional>
#include <optional>
#include <random>
#include <string>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "net/http.hpp"
#include "auth/webhook_signer.hpp"
#include "roles/worker/job_runner.hpp"
#include "store/ledger.hpp"

namespace tacos::payment {

enum class Action { approve, fail, delay, timeout, random };
std::optional<Action> parse_action(std::string_view s);

struct Settings {
  std::int64_t delay_ms = 3000;        // how long "delay" takes to approve
  double random_approval_rate = 0.7;   // share of "random" that approves
};

/// Carries a signed webhook to the receiver: in-process or over HTTP. Calls done exactly once.
using WebhookTransport =
    std::function<void(std::string body, std::string signature, std::function<void(Status)> done)>;

template <typename T>
using Done = std::function<void(Result<T>)>;

class PaymentService {
 public:
  PaymentService(store::Ledger& ledger, worker::JobRunner& jobs, const Clock& clock, Settings settings,
                 const auth::WebhookSigner& signer, metrics::Registry& metrics);

  void set_transport(WebhookTransport transport) { transport_ = std::move(transport); }

  /// PAYMENT_NOT_PAYABLE unless the caller's reservation is on hold; AMOUNT_MISMATCH when the
  /// client names an amount other than the reservation's. An open intent is returned again.
  void create_intent(const net::Identity& who, std::string reservation_id, std::optional<std::int64_t> amount,
                     Done<store::PaymentIntent> done);
  void process(const net::Identity& who, std::string intent_id, Action action, Done<store::PaymentIntent> done);
  /// The caller's own intent (admins see all); NOT_FOUND otherwise.
  Result<store::PaymentIntent> get(const net::Identity& who, std::string_view intent_id);

  /// Job handlers.
  void settle_job(const store::Job& job, std::function<void(Status)> finish);
  void deliver_job(const store::Job& job, std::function<void(Status)> finish);

 private:
  /// Moves an intent to its outcome and queues the webhook, inside the caller's transaction.
  std::optional<store::Job> settle(store::WriteTx& tx, const store::PaymentIntent& p, store::PaymentStatus from,
                                   bool approved, std::string_view scenario);
  bool random_approves();

  store::Ledger& ledger_;
  worker::JobRunner& jobs_;
  const Clock& clock_;
  Settings s_;
  const auth::WebhookSigner& signer_;
  WebhookTransport transport_;
  metrics::Registry& metrics_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

/// `{payment_intent_id, status, amount, currency, reservation_id, refund_required}`.
std::string intent_json(const store::PaymentIntent& p);

}  // namespace tacos::payment

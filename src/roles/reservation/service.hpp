#pragma once
// The reservation role: holds (seats or general-admission stock taken for a short time),
// confirmation by an approved payment, cancellation and expiry. It orchestrates the other roles
// through their client interfaces, local or remote: the queue redeems the entry token, the
// inventory takes the seats tentatively in its memory and learns what committed, the payment role
// says whether an intent is approved. Every change is one ledger op: the reservation, its seats
// (store/seats.hpp: the store decides, decision 0007), the order and the outbox event commit
// together, and the caller is answered after the commit.

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/webhook_signer.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "net/blocking_pool.hpp"
#include "net/http.hpp"
#include "roles/inventory/client.hpp"
#include "roles/payment/client.hpp"
#include "roles/queue/client.hpp"
#include "store/ledger.hpp"

namespace tacos::reservation {

struct CreateRequest {
  std::string user_id;
  std::string event_id;
  std::vector<std::string> seat_ids;
  std::int64_t quantity = 0;
  std::string reservation_token;
  std::string idempotency_key;
};

struct Created {
  store::Reservation reservation;
  bool replayed = false;  // an earlier request with the same Idempotency-Key made it
};

class ReservationService {
 public:
  ReservationService(store::Ledger& ledger, inventory::InventoryClient& inventory, queue::QueueClient& queue,
                     payment::PaymentClient& payments, const auth::WebhookSigner& webhook_signer, const Clock& clock,
                     metrics::Registry& metrics, net::BlockingPool* reads = nullptr);

  void create(CreateRequest req, Done<Created> done);
  /// Confirms with an approved payment. PAYMENT_NOT_APPROVED (412) otherwise; RESERVATION_EXPIRED
  /// (410) when the hold has run out, in which case an approved payment is marked for refund.
  void confirm(const net::Identity& who, std::string reservation_id, std::string payment_intent_id,
               Done<store::Reservation> done);
  void cancel(const net::Identity& who, std::string reservation_id, Done<store::Reservation> done);
  /// The caller's own reservation (admins see all); NOT_FOUND otherwise.
  Result<store::Reservation> get(const net::Identity& who, std::string_view id);
  std::vector<store::Reservation> list(const net::Identity& who);

  /// The payment webhook receiver: verifies the signature, deduplicates by webhook id, and
  /// applies the payment's real state (read from the store, so order of arrival does not matter).
  void receive_webhook(std::string body, std::string signature, std::function<void(Status)> done);

  /// Expires one hold whose hold_expires_at has passed (HOLD -> EXPIRED, seats back); nothing for
  /// one that ended otherwise. The worker finds them in the store's expiry index.
  void expire(std::string reservation_id, std::function<void(Status)> finish);

  /// Job handler for "reservation.expire" rows written before migration 0004 (holds no longer
  /// write them).
  void expire_job(const store::Job& job, std::function<void(Status)> finish);

 private:
  enum class Outcome { none, confirmed, already_confirmed, expired, cancelled, refund_only, not_approved };
  struct Effects {
    std::optional<store::Reservation> released;
    std::optional<store::Reservation> sold;
    Outcome outcome = Outcome::none;
  };
  /// Inside an op: confirm if the hold is live and the payment approved; otherwise expire /
  /// refund as the state demands. Writes everything; records what memory must do afterwards.
  Status confirm_in_tx(store::WriteTx& tx, const std::string& reservation_id, const store::PaymentIntent& payment,
                       Effects& fx);
  Status release_in_tx(store::WriteTx& tx, store::Reservation r, store::ReservationStatus to, std::string_view reason,
                       Effects& fx);
  void apply(const Effects& fx);
  /// tacos_reservation_hold_failures_total{reason}: the error's public code, lower case.
  void count_hold_failure(const Error& e);
  /// When the user already has a reservation under req's Idempotency-Key: answers it (or
  /// IDEMPOTENCY_KEY_MISMATCH for another request) and returns true.
  bool answer_replay(const CreateRequest& req, const Done<Created>& done);
  struct Hold;
  void take_seats(std::shared_ptr<Hold> h);
  void write(std::shared_ptr<Hold> h);
  void confirm_with(const net::Identity& who, std::string reservation_id, store::PaymentIntent payment,
                    Done<store::Reservation> done);
  /// Applies a payment's final state to its reservation (a webhook).
  void settle_with(const store::PaymentIntent& payment, std::string webhook_id, std::function<void(Status)> done);
  /// Committed HOLD and CONFIRMED tickets of the user for the event (the limit's pre-check).
  std::int64_t tickets_of(std::string_view user_id, std::string_view event_id);
  /// The inventory's answer to a new hold (on a thread where the store may be read).
  void planned(const std::shared_ptr<Hold>& h, Result<inventory::HoldPlan>& plan);

  static constexpr int kMaxReservationsRead = 100000;

  store::Ledger& ledger_;
  inventory::InventoryClient& inventory_;
  queue::QueueClient& queue_;
  payment::PaymentClient& payments_;
  const auth::WebhookSigner& webhook_signer_;
  const Clock& clock_;
  // Where the create path reads the store (a key, a buyer's tickets) when an answer from another
  // role arrives on an I/O thread; null when the store answers from memory (SQLite).
  net::BlockingPool* reads_;
  metrics::Registry& metrics_;
  metrics::Counter& holds_;
  metrics::Counter& confirmed_;
  metrics::Counter& expired_;
  metrics::Counter& cancelled_;
  metrics::Histogram& expiry_lag_;  // from hold_expires_at to the release's commit
};

/// What a new hold writes inside its ledger op: the reservation, its seats (or stock) and the
/// `reservation.created` event (`created_event`, rendered before the op). Also driven by
/// bench/ledger_holds_bench.cpp, so the benchmark measures exactly this.
Status write_new_hold(store::WriteTx& tx, const store::Reservation& r, const inventory::HoldPlan& plan,
                      std::string_view created_event);

/// The payload of the reservation.* outbox events.
std::string event_payload(const store::Reservation& r);

/// `{reservation_id, status, event_id, seat_ids, quantity, user_id, hold_expires_at, total_amount, ...}`.
std::string reservation_json(const store::Reservation& r);

}  // namespace tacos::reservation

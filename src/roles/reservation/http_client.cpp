#include "roles/reservation/http_client.hpp"

#include <nlohmann/json.hpp>

#include "store/wire.hpp"

namespace tacos::reservation {

namespace {

using nlohmann::json;

class HttpReservationClient final : public ReservationClient {
 public:
  explicit HttpReservationClient(std::shared_ptr<runtime::RpcChannel> c) : c_(std::move(c)) {}

  void get(std::string reservation_id, Done<store::Reservation> done) override {
    runtime::call_decoded<store::Reservation>(*c_, "/internal/v1/reservation/get",
                                              json{{"reservation_id", reservation_id}}.dump(), true,
                                              store::reservation_from_json, std::move(done));
  }
  void expire(std::string reservation_id, DoneStatus done) override {
    runtime::call_status(*c_, "/internal/v1/reservation/expire", json{{"reservation_id", reservation_id}}.dump(), true,
                         std::move(done));
  }
  void receive_webhook(std::string body, std::string signature, DoneStatus done) override {
    // Idempotent: the receiver deduplicates by the webhook's id.
    runtime::call_status(*c_, "/internal/v1/reservation/webhook", json{{"body", body}, {"signature", signature}}.dump(),
                         true, std::move(done));
  }
  void run_job(store::Job job, DoneStatus done) override {
    runtime::call_status(*c_, "/internal/v1/reservation/run-job", store::to_json(job), true, std::move(done));
  }

 private:
  std::shared_ptr<runtime::RpcChannel> c_;
};

}  // namespace

std::shared_ptr<ReservationClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel) {
  return std::make_shared<HttpReservationClient>(std::move(channel));
}

}  // namespace tacos::reservation

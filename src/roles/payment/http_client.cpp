#include "roles/payment/http_client.hpp"

#include <nlohmann/json.hpp>

#include "store/wire.hpp"

namespace tacos::payment {

namespace {

class HttpPaymentClient final : public PaymentClient {
 public:
  explicit HttpPaymentClient(std::shared_ptr<runtime::RpcChannel> c) : c_(std::move(c)) {}

  void get(std::string intent_id, Done<store::PaymentIntent> done) override {
    runtime::call_decoded<store::PaymentIntent>(*c_, "/internal/v1/payment/get",
                                                nlohmann::json{{"payment_intent_id", intent_id}}.dump(), true,
                                                store::payment_intent_from_json, std::move(done));
  }
  void run_job(store::Job job, DoneStatus done) override {
    // Jobs are at least once anyway: their handlers are idempotent.
    runtime::call_status(*c_, "/internal/v1/payment/run-job", store::to_json(job), true, std::move(done));
  }

 private:
  std::shared_ptr<runtime::RpcChannel> c_;
};

}  // namespace

std::shared_ptr<PaymentClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel) {
  return std::make_shared<HttpPaymentClient>(std::move(channel));
}

}  // namespace tacos::payment

#include "roles/queue/http_client.hpp"

#include <nlohmann/json.hpp>

namespace tacos::queue {

namespace {

using nlohmann::json;

class HttpQueueClient final : public QueueClient {
 public:
  explicit HttpQueueClient(std::shared_ptr<runtime::RpcChannel> c) : c_(std::move(c)) {}

  void check_reservation_token(std::string token, std::string event_id, std::string user_id,
                               Done<Admission> done) override {
    auto body = json{{"reservation_token", token}, {"event_id", event_id}, {"user_id", user_id}}.dump();
    runtime::call_decoded<Admission>(*c_, "/internal/v1/queue/check-reservation-token", std::move(body), true,
                                     admission_from_json, std::move(done));
  }
  void consume(Admission admission, DoneStatus done) override {
    // Not idempotent: a second try after a lost answer would read TOKEN_ALREADY_USED.
    runtime::call_status(*c_, "/internal/v1/queue/consume", to_json(admission), false, std::move(done));
  }
  void buyer_finished(std::string event_id, std::string ticket) override {
    runtime::notify(*c_, "/internal/v1/queue/buyer-finished", json{{"event_id", event_id}, {"ticket", ticket}}.dump(),
                    true);  // a place finishes once
  }
  void stats(std::string event_id, Done<QueueStats> done) override {
    runtime::call_decoded<QueueStats>(*c_, "/internal/v1/queue/stats", json{{"event_id", event_id}}.dump(), true,
                                      queue_stats_from_json, std::move(done));
  }

 private:
  std::shared_ptr<runtime::RpcChannel> c_;
};

}  // namespace

std::shared_ptr<QueueClient> make_http_client(std::shared_ptr<runtime::RpcChannel> channel) {
  return std::make_shared<HttpQueueClient>(std::move(channel));
}

}  // namespace tacos::queue

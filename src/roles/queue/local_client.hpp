#pragma once
// QueueClient for roles in the same process: plain calls into the QueueService, answered before
// the call returns (stats may wait for the event's facts when the room is new).

#include "roles/queue/client.hpp"
#include "roles/queue/service.hpp"

namespace tacos::queue {

class LocalQueueClient final : public QueueClient {
 public:
  void bind(QueueService& service) { service_ = &service; }

  void check_reservation_token(std::string token, std::string event_id, std::string user_id,
                               Done<Admission> done) override {
    done(service_->check_reservation_token(token, event_id, user_id));
  }
  void consume(Admission admission, DoneStatus done) override { done(service_->consume(admission)); }
  void buyer_finished(std::string event_id, std::string ticket) override { service_->buyer_finished(event_id, ticket); }
  void stats(std::string event_id, Done<QueueStats> done) override { service_->stats(event_id, std::move(done)); }

 private:
  QueueService* service_ = nullptr;
};

}  // namespace tacos::queue

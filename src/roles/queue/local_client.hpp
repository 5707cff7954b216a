#pragma once
// QueueClient for roles in the same process: plain calls into the QueueService, answered before
// the call returns (stats may wait for the event's facts when the room is new). With shared rooms
// (Redis) each call waits on Redis, so it runs on the blocking pool given to bind().

#include "net/offload.hpp"
#include "roles/queue/client.hpp"
#include "roles/queue/service.hpp"

namespace tacos::queue {

class LocalQueueClient final : public QueueClient {
 public:
  void bind(QueueService& service, net::BlockingPool* blocking) {
    service_ = &service;
    blocking_ = service.shared() ? blocking : nullptr;
  }

  void check_reservation_token(std::string token, std::string event_id, std::string user_id,
                               Done<Admission> done) override {
    net::on_store_thread(
        blocking_, [this, token = std::move(token), event_id = std::move(event_id), user_id = std::move(user_id),
                    done = std::move(done)] { done(service_->check_reservation_token(token, event_id, user_id)); });
  }
  void consume(Admission admission, DoneStatus done) override {
    net::on_store_thread(blocking_, [this, admission = std::move(admission), done = std::move(done)] {
      done(service_->consume(admission));
    });
  }
  void buyer_finished(std::string event_id, std::string ticket) override {
    net::on_store_thread(blocking_, [this, event_id = std::move(event_id), ticket = std::move(ticket)] {
      service_->buyer_finished(event_id, ticket);
    });
  }
  void stats(std::string event_id, Done<QueueStats> done) override { service_->stats(event_id, std::move(done)); }

 private:
  QueueService* service_ = nullptr;
  net::BlockingPool* blocking_ = nullptr;
};

}  // namespace tacos::queue

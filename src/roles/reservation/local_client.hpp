#pragma once
// ReservationClient for roles in the same process: plain calls into the ReservationService; reads
// of the store run where they may wait (net/offload.hpp).

#include "net/offload.hpp"
#include "roles/reservation/client.hpp"
#include "roles/reservation/service.hpp"

namespace tacos::reservation {

class LocalReservationClient final : public ReservationClient {
 public:
  /// `reads`: the blocking pool when the store waits on the network, else null.
  void bind(ReservationService& service, store::Ledger& ledger, net::BlockingPool* reads) {
    service_ = &service;
    ledger_ = &ledger;
    reads_ = reads;
  }

  void get(std::string reservation_id, Done<store::Reservation> done) override {
    net::offload<store::Reservation>(
        reads_,
        [ledger = ledger_, id = std::move(reservation_id)]() -> Result<store::Reservation> {
          auto r = ledger->reservation(id);
          if (!r) return Error(Errc::not_found, "no reservation '" + id + "'");
          return std::move(*r);
        },
        std::move(done));
  }
  void expire(std::string reservation_id, DoneStatus done) override {
    service_->expire(std::move(reservation_id), std::move(done));
  }
  void receive_webhook(std::string body, std::string signature, DoneStatus done) override {
    service_->receive_webhook(std::move(body), std::move(signature), std::move(done));
  }
  void run_job(store::Job job, DoneStatus done) override { service_->expire_job(job, std::move(done)); }

 private:
  ReservationService* service_ = nullptr;
  store::Ledger* ledger_ = nullptr;
  net::BlockingPool* reads_ = nullptr;
};

}  // namespace tacos::reservation

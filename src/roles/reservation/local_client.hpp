#pragma once
// ReservationClient for roles in the same process: plain calls into the ReservationService.

#include "roles/reservation/client.hpp"
#include "roles/reservation/service.hpp"

namespace tacos::reservation {

class LocalReservationClient final : public ReservationClient {
 public:
  void bind(ReservationService& service, store::Ledger& ledger) {
    service_ = &service;
    ledger_ = &ledger;
  }

  void get(std::string reservation_id, Done<store::Reservation> done) override {
    auto r = ledger_->reservation(reservation_id);
    if (!r) return done(Error(Errc::not_found, "no reservation '" + reservation_id + "'"));
    done(std::move(*r));
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
};

}  // namespace tacos::reservation

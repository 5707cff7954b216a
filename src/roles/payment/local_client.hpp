#pragma once
// PaymentClient for roles in the same process: plain calls into the PaymentService.

#include "roles/payment/client.hpp"
#include "roles/payment/service.hpp"

namespace tacos::payment {

class LocalPaymentClient final : public PaymentClient {
 public:
  void bind(PaymentService& service, store::Ledger& ledger) {
    service_ = &service;
    ledger_ = &ledger;
  }

  void get(std::string intent_id, Done<store::PaymentIntent> done) override {
    auto p = ledger_->payment(intent_id);
    if (!p) return done(Error(Errc::not_found, "no payment intent '" + intent_id + "'"));
    done(std::move(*p));
  }
  void run_job(store::Job job, DoneStatus done) override { service_->run_job(job, std::move(done)); }

 private:
  PaymentService* service_ = nullptr;
  store::Ledger* ledger_ = nullptr;
};

}  // namespace tacos::payment

#pragma once
// PaymentClient for roles in the same process: plain calls into the PaymentService; reads of the
// store run where they may wait (net/offload.hpp).

#include "net/offload.hpp"
#include "roles/payment/client.hpp"
#include "roles/payment/service.hpp"

namespace tacos::payment {

class LocalPaymentClient final : public PaymentClient {
 public:
  /// `reads`: the blocking pool when the store waits on the network, else null.
  void bind(PaymentService& service, store::Ledger& ledger, net::BlockingPool* reads) {
    service_ = &service;
    ledger_ = &ledger;
    reads_ = reads;
  }

  void get(std::string intent_id, Done<store::PaymentIntent> done) override {
    net::offload<store::PaymentIntent>(
        reads_,
        [ledger = ledger_, id = std::move(intent_id)]() -> Result<store::PaymentIntent> {
          auto p = ledger->payment(id);
          if (!p) return Error(Errc::not_found, "no payment intent '" + id + "'");
          return std::move(*p);
        },
        std::move(done));
  }
  void run_job(store::Job job, DoneStatus done) override { service_->run_job(job, std::move(done)); }

 private:
  PaymentService* service_ = nullptr;
  store::Ledger* ledger_ = nullptr;
  net::BlockingPool* reads_ = nullptr;
};

}  // namespace tacos::payment

#include "roles/payment/module.hpp"

#include <array>
#include <chrono>

#include "auth/webhook_config.hpp"
#include "auth/webhook_signer.hpp"
#include "common/log.hpp"
#include "net/upstream.hpp"
#include "roles/payment/http_api.hpp"
#include "roles/payment/internal_api.hpp"
#include "roles/payment/local_client.hpp"
#include "roles/payment/service.hpp"
#include "roles/reservation/client.hpp"
#include "store/jobs.hpp"
#include "store/store.hpp"

namespace tacos::payment {

namespace {

using config::KeyDecl;
using T = config::Type;
using std::chrono::milliseconds;

std::string check_url(std::string_view v) {
  auto u = net::parse_http_url(v);
  return u ? std::string() : u.error().message;
}

constexpr std::array kKeys{
    KeyDecl{"payment.webhook_url", T::string, "",
            "Where the simulator POSTs webhooks (http[s]://host:port/api/v1/webhooks/payment); empty hands them to "
            "the reservation role's client, still signed and verified",
            0, 0, "", false, check_url},
    KeyDecl{"payment.delay_ms", T::integer, "3000", "How long the 'delay' scenario takes to approve", 0, 600000},
    KeyDecl{"payment.settle_after_ms", T::integer, "2000",
            "An intent created with scenario approve, fail or random settles by itself after this", 0, 600000},
    KeyDecl{"payment.random_approval_percent", T::integer, "70", "Share of 'random' payments that are approved", 0,
            100},
};

/// What the role reads from the configuration, once, at start.
struct PaymentSettings {
  milliseconds delay{3000};
  milliseconds settle_after{2000};
  double random_approval_rate = 0.7;
  std::optional<net::HttpUrl> webhook_url;

  static PaymentSettings read(const config::Config& c) {
    PaymentSettings s;
    s.delay = milliseconds(c.integer("payment.delay_ms"));
    s.settle_after = milliseconds(c.integer("payment.settle_after_ms"));
    s.random_approval_rate = static_cast<double>(c.integer("payment.random_approval_percent")) / 100.0;
    if (auto url = c.string("payment.webhook_url"); !url.empty()) s.webhook_url = net::parse_http_url(url).value();
    return s;
  }
  Settings service() const { return Settings{delay.count(), settle_after.count(), random_approval_rate}; }
};

class PaymentModule final : public runtime::Module {
 public:
  std::string_view name() const override { return "payment"; }
  std::vector<std::string_view> needs() const override { return {"reservation"}; }

  std::vector<net::RouteSpec> public_routes() const override {
    using net::Method;
    return {{Method::post, "/api/v1/payment/intent"},
            {Method::post, "/api/v1/payments/intent"},
            {Method::post, "/api/v1/payment/process"},
            {Method::get, "/api/v1/payment/{id}/status"}};
  }

  void provide(runtime::Clients& clients) override { clients.provide<PaymentClient>(local_); }

  void wire(runtime::Env& env) override {
    auto s = PaymentSettings::read(env.config);
    auto& ledger = env.need_store(name()).ledger();
    auto& reservations = env.clients.get<reservation::ReservationClient>();
    signer_ = std::make_unique<auth::WebhookSigner>(auth::webhook_secret(env.config), env.clock);
    service_ = std::make_unique<PaymentService>(ledger, env.clients.get<store::JobQueue>(), reservations, env.clock,
                                                s.service(), *signer_, env.metrics);
    env.teardown.push("payment service", [this] {
      service_.reset();
      webhook_.reset();
      signer_.reset();
    });
    if (s.webhook_url) {
      // A webhook receiver reached over HTTP, as a real provider would: signed body, 10 s per try,
      // and the job's retries after that.
      net::UpstreamOptions o;
      o.name = "webhook";
      o.urls = {*s.webhook_url};
      o.request_timeout_ms = 10'000;
      o.max_attempts = 1;
      webhook_ = std::make_shared<net::Upstream>(env.io, o, env.clock, &env.metrics);
      service_->set_transport([up = webhook_](std::string body, std::string sig, std::function<void(Status)> done) {
        net::OutboundRequest r;
        r.method = net::Method::post;
        r.body = std::move(body);
        r.headers.push_back({std::string(auth::kSignatureHeader), std::move(sig)});
        up->send(std::move(r), [done](Result<net::ClientResponse> res) {
          if (!res) return done(Error(Errc::unavailable, "webhook delivery failed: " + res.error().message));
          if (res->status / 100 == 2) return done(Status());
          done(Error(Errc::unavailable,
                     "webhook answered " + std::to_string(res->status) + ": " + res->body.substr(0, 200)));
        });
      });
    } else {
      service_->set_transport([&reservations](std::string body, std::string sig, std::function<void(Status)> done) {
        reservations.receive_webhook(std::move(body), std::move(sig), std::move(done));
      });
    }
    local_.bind(*service_, ledger, env.store_blocks ? &env.blocking : nullptr);
    auto api = env.store_routes(env.api);
    add_routes(api, *service_);
    add_internal_routes(env.internal, local_);
  }

 private:
  LocalPaymentClient local_;
  std::unique_ptr<auth::WebhookSigner> signer_;
  std::shared_ptr<net::Upstream> webhook_;
  std::unique_ptr<PaymentService> service_;
};

std::vector<KeyDecl> all_keys() {
  std::vector<KeyDecl> out(kKeys.begin(), kKeys.end());
  for (const auto& k : auth::webhook_keys()) out.push_back(k);
  return out;
}

}  // namespace

std::span<const config::KeyDecl> keys() {
  static const auto all = all_keys();
  return all;
}

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<PaymentModule>(); }

}  // namespace tacos::payment

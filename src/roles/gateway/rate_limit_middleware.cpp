#include "roles/gateway/rate_limit_middleware.hpp"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace tacos::gateway {

using net::Method;
using net::Request;
using net::Response;

namespace {

bool exempt(const Request& req) {
  const auto& p = req.path;
  return p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/version" || p.starts_with("/api/v1/webhooks/");
}

bool is_write(Method m) { return m == Method::post || m == Method::put || m == Method::patch || m == Method::del; }

std::string forwarded_for(const Request& req) {
  std::string all;
  for (const auto& h : req.headers) {
    if (h.name != "x-forwarded-for") continue;
    if (!all.empty()) all += ',';
    all += h.value;
  }
  return all;
}

// A fixed-size stand-in for a long credential (a waiting token) in a bucket key.
std::string digest(std::string_view s) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string_view>{}(s));
  return buf;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view RateLimiter::class_name(LimitClass c) {
  switch (c) {
    case LimitClass::ip:
      return "ip";
    case LimitClass::auth_ip:
      return "auth_ip";
    case LimitClass::login_user:
      return "login_user";
    case LimitClass::user:
      return "user";
    case LimitClass::queue_poll:
      return "queue_poll";
    case LimitClass::writes:
      return "writes";
    case LimitClass::kCount:
      break;
  }
  return "unknown";
}

RateLimiter::RateLimiter(RateLimitSettings settings, RateLimitStore& store, const Clock& clock,
                         metrics::Registry& metrics)
    : s_(std::move(settings)), store_(store), clock_(clock) {
  constexpr std::string_view kName = "tacos_gateway_rate_limit_decisions_total";
  for (std::size_t i = 0; i < counters_.size(); ++i) {
    std::string cls(class_name(static_cast<LimitClass>(i)));
    counters_[i] = {&metrics.counter(kName, {{"class", cls}, {"outcome", "allowed"}}),
                    &metrics.counter(kName, {{"class", cls}, {"outcome", "rejected"}}),
                    &metrics.counter(kName, {{"class", cls}, {"outcome", "shadow_rejected"}})};
  }
  constexpr std::string_view kDown = "tacos_gateway_rate_limit_store_down_total";
  store_down_allowed_ = &metrics.counter(kDown, {{"outcome", "allowed"}});
  store_down_refused_ = &metrics.counter(kDown, {{"outcome", "refused"}});
}

void RateLimiter::add(std::vector<LimitClass>& classes, std::vector<BucketTake>& buckets, LimitClass c,
                      std::string_view who) const {
  std::string key(class_name(c));
  key += ':';
  key += who;
  classes.push_back(c);
  buckets.push_back({std::move(key), s_[c]});
}

void RateLimiter::plan(const Request& req, Stage stage, std::vector<LimitClass>& classes,
                       std::vector<BucketTake>& buckets) const {
  if (stage == Stage::before_auth) {
    add(classes, buckets, LimitClass::ip, req.client_ip);
    if (req.method == Method::post && (req.path == "/api/v1/auth/login" || req.path == "/api/v1/auth/register")) {
      add(classes, buckets, LimitClass::auth_ip, req.client_ip);
      if (req.path == "/api/v1/auth/login") {
        // Per account, whoever asks: many IPs guessing one password are still slowed down.
        if (auto body = parse_json_object(req.body, 4); body && body->contains("username")) {
          const auto& u = (*body)["username"];
          if (u.is_string() && !u.get_ref<const std::string&>().empty() &&
              u.get_ref<const std::string&>().size() <= 64) {
            add(classes, buckets, LimitClass::login_user, lower(u.get_ref<const std::string&>()));
          }
        }
      }
    }
    return;
  }
  const auto& uid = req.identity.user_id;
  if (req.identity.authenticated()) add(classes, buckets, LimitClass::user, uid);
  if (req.path == "/api/v1/queue/status" && req.method == Method::get) {
    // Per waiting place: people behind one NAT address each poll at their own pace.
    auto token = req.query_param("token");
    add(classes, buckets, LimitClass::queue_poll,
        !uid.empty()               ? uid
        : token && !token->empty() ? "t" + digest(*token)
                                   : "ip" + req.client_ip);
  } else if (is_write(req.method) && req.path.starts_with("/api/v1/") && !req.path.starts_with("/api/v1/auth/")) {
    add(classes, buckets, LimitClass::writes, !uid.empty() ? uid : "ip" + req.client_ip);
  }
}

std::optional<Response> RateLimiter::judge(Request& req, const std::vector<LimitClass>& classes,
                                           const std::vector<Decision>& decisions) {
  for (std::size_t i = 0; i < decisions.size() && i < classes.size(); ++i) {
    const auto& d = decisions[i];
    auto c = classes[i];
    if (req.rate.limit < 0 || d.remaining < req.rate.remaining) req.rate = {d.limit, d.remaining, d.reset_sec};
    auto& out = counters_[static_cast<std::size_t>(c)];
    if (d.allowed) {
      out.allowed->inc();
      continue;
    }
    if (s_.shadow) {
      out.shadow_rejected->inc();
      continue;
    }
    out.rejected->inc();
    req.rate = {d.limit, 0, d.reset_sec};
    auto res = net::error_response(
        Error(Errc::rate_limited, "too many requests (" + std::string(class_name(c)) + " limit): try again in " +
                                      std::to_string(d.retry_after_sec) + " s"),
        req.trace_id);
    res.set_header("retry-after", std::to_string(d.retry_after_sec));
    return res;
  }
  return std::nullopt;
}

std::optional<Response> RateLimiter::store_down(const Request& req, const Error& e) {
  const bool write = is_write(req.method);
  if (!(write ? s_.refuse_writes_when_store_down : s_.refuse_reads_when_store_down)) {
    store_down_allowed_->inc();
    return std::nullopt;
  }
  store_down_refused_->inc();
  log::warn("rate limits cannot be checked: refusing",
            {log::str("error", e.message), log::str("trace_id", req.trace_id)});
  auto res = net::error_response(Error(Errc::unavailable, "rate limits cannot be checked right now: try again shortly"),
                                 req.trace_id);
  res.set_header("retry-after", "1");
  return res;
}

void RateLimiter::check(Request& req, Stage stage, Decided done) {
  if (stage == Stage::before_auth) {
    req.client_ip =
        s_.trusted_proxies.empty() ? req.remote_ip : client_ip(req.remote_ip, forwarded_for(req), s_.trusted_proxies);
  }
  if (!s_.enabled || exempt(req)) return done(std::nullopt);
  std::vector<LimitClass> classes;
  std::vector<BucketTake> buckets;
  plan(req, stage, classes, buckets);
  if (buckets.empty()) return done(std::nullopt);
  // In shadow mode a refusal lets the request on, so every bucket is taken.
  store_.take(
      buckets, clock_.steady_us(), !s_.shadow,
      [this, &req, classes = std::move(classes), done = std::move(done)](Result<std::vector<Decision>> decisions) {
        if (decisions) return done(judge(req, classes, *decisions));
        done(store_down(req, decisions.error()));
      });
}

std::optional<Response> RateLimitStep::before(Request& req) {
  std::optional<Response> out;
  limiter_->check(req, stage_, [&out](std::optional<Response> r) { out = std::move(r); });  // immediate store
  return out;
}

void RateLimiter::decorate(const Request& req, Response& res) {
  if (req.rate.limit < 0) return;
  res.set_header("x-ratelimit-limit", std::to_string(req.rate.limit));
  res.set_header("x-ratelimit-remaining", std::to_string(req.rate.remaining));
  res.set_header("x-ratelimit-reset", std::to_string(req.rate.reset_sec));
}

}  // namespace tacos::gateway

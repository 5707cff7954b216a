// libFuzzer target: raw bytes as an HTTP/1.1 request through the server's request path.
//
//   bytes -> net::parse_request (the server's Beast parser, limits and checks, default options)
//         -> Router::match over every route the roles register (routes.inc, generated from src/)
//         -> the gateway's middleware chain, built as `tacos serve` builds it, before() and after()
//            (run three times: a second copy while the first is in flight, then a repeat, so
//            the idempotency and rate-limit states are reached)
//         -> query_param, percent_decode, conditional, error_response
//
// Properties checked besides "no crash, no sanitizer report": every response body the pipeline
// builds from an error is valid JSON, and a request that parsed keeps its path inside its target.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "net/http.hpp"
#include "net/middleware.hpp"
#include "net/request_parse.hpp"
#include "net/router.hpp"
#include "roles/gateway/auth_middleware.hpp"
#include "roles/gateway/client_ip.hpp"
#include "roles/gateway/edge_middleware.hpp"
#include "roles/gateway/idempotency.hpp"
#include "roles/gateway/rate_limit_middleware.hpp"
#include "roles/gateway/static_files.hpp"

namespace {

using namespace tacos;
using net::Method;
using net::Request;
using net::Response;

struct Route {
  Method method;
  const char* pattern;
};
// Every `router.add(Method::x, "pattern"` / `add_sync` in src/, extracted when CMake configures.
constexpr Route kRoutes[] = {
#include "routes.inc"
};

// The fuzz corpus holds tokens signed with this secret, issuer and audience, valid at this clock
// (see fuzz/README.md to make more).
constexpr const char* kJwtSecret = "fuzz-secret-fuzz-secret-fuzz-secret!";
constexpr std::int64_t kNowMs = 1'700'000'000'000;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

void check_json_body(const Response& r) {
  if (r.content_type != "application/json" || r.body.empty()) return;
  check(nlohmann::json::accept(r.body), "a JSON response body is valid JSON");
}

// What lives for the whole run: the routing table, the clock, the signer, the stateless steps.
struct World {
  ManualClock clock{kNowMs};
  metrics::Registry registry;
  auth::HsJwt jwt{auth::JwtSettings{kJwtSecret, "tacos", "tacos-api", 3600, 30}, clock};
  net::Router router;
  std::shared_ptr<gateway::StaticFiles> web;
  std::vector<gateway::IpNet> trusted = gateway::parse_networks("10.0.0.0/8, ::1").value();

  World() {
    // The web UI fallback needs files: a tiny site, read into memory at construction.
    auto dir = std::filesystem::temp_directory_path() / ("tacos-fuzz-web-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "assets");
    std::ofstream(dir / "index.html") << "<!doctype html><title>tacos</title>";
    std::ofstream(dir / "assets" / "app-1a2b3c.js") << "console.log(1)";
    web = std::make_shared<gateway::StaticFiles>(dir);
    std::filesystem::remove_all(dir);

    for (const auto& r : kRoutes) {
      router.add(r.method, r.pattern, [](Request& req, net::Responder res) {
        // Stands in for the real handler, which needs the role's services.
        res.send(Response(req.method == Method::post ? 201 : 200, R"({"ok":true})"));
      });
    }
    router.set_fallback([web = web](Request& req, net::Responder res) { res.send(web->serve(req)); });
  }
};

World& world() {
  static World* w = new World();  // never destroyed: libFuzzer may exit from any thread
  return *w;
}

// The chain of `tacos serve` (src/app/commands.cpp), with tight limits so one input can hit them.
struct Chain {
  gateway::MemoryRateLimitStore buckets;
  gateway::MemoryIdempotencyStore records{24 * 3600 * 1000, 1000};
  std::vector<std::shared_ptr<net::Middleware>> steps;

  explicit Chain(World& w) {
    gateway::RateLimitSettings s;
    s.trusted_proxies = w.trusted;
    s[gateway::LimitClass::ip] = gateway::Limit::parse("100/s 3").value();
    s[gateway::LimitClass::auth_ip] = gateway::Limit::parse("5/m 2").value();
    s[gateway::LimitClass::login_user] = gateway::Limit::parse("5/m 1").value();
    s[gateway::LimitClass::user] = gateway::Limit::parse("50/s 2").value();
    s[gateway::LimitClass::queue_poll] = gateway::Limit::parse("1/s 1").value();
    s[gateway::LimitClass::writes] = gateway::Limit::parse("10/s 2").value();
    auto limiter = std::make_shared<gateway::RateLimiter>(s, buckets, w.clock, w.registry);
    steps = {
        std::make_shared<net::RequestIdMiddleware>(),
        std::make_shared<net::ObservabilityMiddleware>(w.registry, false),
        std::make_shared<gateway::SecurityHeadersMiddleware>(true),
        std::make_shared<gateway::CorsMiddleware>(
            gateway::CorsMiddleware::parse_origins("https://tickets.example, http://localhost:5173"),
            "Authorization, Content-Type, Idempotency-Key, X-Trace-Id, traceparent, tracestate"),
        std::make_shared<gateway::RateLimitEdgeMiddleware>(limiter),
        std::make_shared<gateway::AuthMiddleware>(w.jwt),
        std::make_shared<gateway::RateLimitUserMiddleware>(limiter),
        std::make_shared<gateway::IdempotencyMiddleware>(records, w.clock, w.registry),
    };
  }
};

// One request in the pipeline, split where the server awaits the handler (Server::Impl::dispatch).
struct InFlight {
  Request req;
  net::Router::Match match;
  std::optional<Response> res;
  std::size_t ran = 0;
};

void before(World& w, Chain& c, InFlight& f) {
  f.match = w.router.match(f.req.method, f.req.path);
  if (f.match.handler) {
    f.req.route = std::string(f.match.pattern);
    f.req.params = std::move(f.match.params);
  }
  while (f.ran < c.steps.size()) {
    auto r = c.steps[f.ran]->before(f.req);
    ++f.ran;
    if (r) {
      f.res = std::move(r);
      return;
    }
  }
}

Response finish(Chain& c, InFlight& f) {
  if (!f.res) {
    if (f.match.handler) {
      std::optional<Response> out;
      {
        net::Responder responder([&out](Response&& r) { out = std::move(r); });
        (*f.match.handler)(f.req, responder);
      }
      check(out.has_value(), "a Responder always answers");
      f.res = std::move(out);
    } else if (f.match.path_known) {
      f.res = net::error_response(Error(Errc::method_not_allowed, std::string(net::method_name(f.req.method)) +
                                                                      " is not allowed on " + f.req.path),
                                  f.req.request_id);
      f.res->set_header("allow", f.match.allow);
    } else {
      f.res = net::error_response(Error(Errc::not_found, "no route for " + f.req.path), f.req.request_id);
    }
  }
  for (std::size_t i = f.ran; i-- > 0;) c.steps[i]->after(f.req, *f.res);
  return std::move(*f.res);
}

void exercise_helpers(const Request& req) {
  // Every key of the query, the way handlers read them.
  std::string_view q = req.query;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto pair = q.substr(0, amp);
    (void)req.query_param(pair.substr(0, pair.find('=')));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  (void)req.query_param("token");
  (void)req.query_param("event_id");
  (void)net::percent_decode(req.target);
  auto cond = net::conditional(req, "{}", "\"v1\"");
  check(cond.status == 200 || cond.status == 304, "conditional answers 200 or 304");
  // The error envelope carries whatever the client sent in messages and fields.
  std::string ids(req.header("x-request-id"));
  for (std::size_t i = 0; i < static_cast<std::size_t>(Errc::kCount); i += 7) {
    check_json_body(net::error_response(Error(static_cast<Errc>(i), req.path, std::string(req.header("origin"))), ids));
  }
  (void)gateway::client_ip(req.remote_ip, req.header("x-forwarded-for"), world().trusted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& w = world();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = net::parse_request(bytes, net::ServerOptions{}, "10.0.0.1");
  Chain chain(w);
  if (!parsed) {
    // The server's early answer: the error envelope through every after().
    InFlight f;
    f.req.request_id = "early";
    f.res = net::error_response(parsed.error(), f.req.request_id);
    f.ran = chain.steps.size();
    check_json_body(finish(chain, f));
    return 0;
  }
  const Request& req = *parsed;
  check(req.target.compare(0, req.path.size(), req.path) == 0, "the path is a prefix of the target");

  // First and a duplicate while the first is in flight, then a repeat after it answered.
  InFlight first{req, {}, {}, 0};
  InFlight second{req, {}, {}, 0};
  before(w, chain, first);
  before(w, chain, second);
  check_json_body(finish(chain, first));
  check_json_body(finish(chain, second));
  w.clock.advance_ms(1);
  InFlight third{req, {}, {}, 0};
  before(w, chain, third);
  check_json_body(finish(chain, third));
  w.clock.set_ms(kNowMs);

  exercise_helpers(req);
  return 0;
}

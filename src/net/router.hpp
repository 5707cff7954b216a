#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and `{name}` parameters:
// "/api/v1/events/{id}/seats". A path that matches no pattern is 404; a path that matches with
// another method is 405 with the allowed methods. HEAD falls back to GET.
// Built once at start-up, then read concurrently without locks.

#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"

namespace tacos::net {

/// A route by method and pattern, as a module declares its public routes.
struct RouteSpec {
  Method method;
  std::string_view pattern;
};

/// Where a module registers routes: a router, or a router under a path prefix (PrefixedRoutes).
class Routes {
 public:
  virtual ~Routes() = default;
  /// An asynchronous handler: answers through its Responder, now or later.
  virtual void add(Method method, std::string_view pattern, Handler handler) = 0;
  /// A handler that answers before it returns.
  virtual void add_sync(Method method, std::string_view pattern, SyncHandler handler) = 0;
};

class Router final : public Routes {
 public:
  void add(Method method, std::string_view pattern, Handler handler) override;
  void add_sync(Method method, std::string_view pattern, SyncHandler handler) override;

  struct Match {
    const Handler* handler = nullptr;  // null when not found / wrong method
    std::string_view pattern;
    std::vector<std::pair<std::string, std::string>> params;
    bool path_known = false;  // some route has this path (so a null handler means 405)
    std::string allow;        // "GET, POST" when path_known
  };
  Match match(Method method, std::string_view path) const;

  /// Answers GET/HEAD requests whose path no route knows (the web UI's files). The matched
  /// pattern reported for metrics is "static".
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }

  /// Every registered route as "METHOD pattern", for docs and tests.
  std::vector<std::string> describe() const;

 private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    Handler handler;
  };
  static bool match_segments(const Route& r, const std::vector<std::string_view>& parts,
                             std::vector<std::pair<std::string, std::string>>* params);
  std::vector<Route> routes_;
  Handler fallback_;
};

/// Routes added under `prefix` of another: "/internal/v1/edge" + "/api/v1/events".
class PrefixedRoutes final : public Routes {
 public:
  PrefixedRoutes(Routes& target, std::string prefix) : target_(target), prefix_(std::move(prefix)) {}
  void add(Method method, std::string_view pattern, Handler handler) override {
    target_.add(method, prefix_ + std::string(pattern), std::move(handler));
  }
  void add_sync(Method method, std::string_view pattern, SyncHandler handler) override {
    target_.add_sync(method, prefix_ + std::string(pattern), std::move(handler));
  }

 private:
  Routes& target_;
  std::string prefix_;
};

}  // namespace tacos::net

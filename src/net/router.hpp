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

class Router {
 public:
  void add(Method method, std::string_view pattern, Handler handler);
  void add_sync(Method method, std::string_view pattern, SyncHandler handler);

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

}  // namespace tacos::net

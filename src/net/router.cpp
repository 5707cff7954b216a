#include "net/router.hpp"

#include <stdexcept>

namespace tacos::net {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

}  // namespace

void Router::add(Method method, std::string_view pattern, Handler handler) {
  Route r{method, std::string(pattern), {}, std::move(handler)};
  for (auto seg : split_path(pattern)) r.segments.emplace_back(seg);
  for (const auto& existing : routes_) {
    bool same_shape = existing.segments.size() == r.segments.size();
    for (std::size_t i = 0; same_shape && i < r.segments.size(); ++i) {
      same_shape = is_param(existing.segments[i]) ? is_param(r.segments[i]) : existing.segments[i] == r.segments[i];
    }
    if (existing.method == method && same_shape) {
      throw std::logic_error("duplicate route " + std::string(method_name(method)) + " " + r.pattern);
    }
  }
  routes_.push_back(std::move(r));
}

void Router::add_sync(Method method, std::string_view pattern, SyncHandler handler) {
  add(method, pattern, [h = std::move(handler)](Request& req, Responder res) { res.send(h(req)); });
}

bool Router::match_segments(const Route& r, const std::vector<std::string_view>& parts,
                            std::vector<std::pair<std::string, std::string>>* params) {
  if (r.segments.size() != parts.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& seg = r.segments[i];
    if (is_param(seg)) {
      if (parts[i].empty()) return false;
    } else if (seg != parts[i]) {
      return false;
    }
  }
  if (params) {
    params->clear();
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto& seg = r.segments[i];
      if (is_param(seg)) params->emplace_back(seg.substr(1, seg.size() - 2), percent_decode(parts[i]));
    }
  }
  return true;
}

Router::Match Router::match(Method method, std::string_view path) const {
  Match m;
  auto parts = split_path(path);
  // Among the routes that fit, the one with the most literal segments wins, so
  // "/events/featured" beats "/events/{id}" whatever the registration order.
  const Route* best = nullptr;
  const Route* get_fallback = nullptr;
  int best_score = -1;
  int fallback_score = -1;
  for (const auto& r : routes_) {
    if (!match_segments(r, parts, nullptr)) continue;
    m.path_known = true;
    int score = 0;
    for (const auto& seg : r.segments) score += is_param(seg) ? 0 : 1;
    if (r.method == method) {
      if (score > best_score) {
        best = &r;
        best_score = score;
      }
      continue;
    }
    if (method == Method::head && r.method == Method::get && score > fallback_score) {
      get_fallback = &r;
      fallback_score = score;
    }
    if (m.allow.find(method_name(r.method)) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += method_name(r.method);
    }
  }
  if (!best) best = get_fallback;
  if (best) {
    match_segments(*best, parts, &m.params);
    m.handler = &best->handler;
    m.pattern = best->pattern;
  } else if (!m.path_known && fallback_ && (method == Method::get || method == Method::head)) {
    m.handler = &fallback_;
    m.pattern = "static";
  }
  return m;
}

std::vector<std::string> Router::describe() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(std::string(method_name(r.method)) + " " + r.pattern);
  return out;
}

}  // namespace tacos::net

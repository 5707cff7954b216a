#include "roles/worker/http_api.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

namespace tacos::worker {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

void add_routes(net::Routes& router, JobRunner& runner, store::InvariantChecker& invariants, const Clock& clock) {
  // Admin only: the authentication middleware guards every /api/v1/admin/ path.
  router.add_sync(Method::get, "/api/v1/admin/dead-letters", [&runner](Request&) {
    json items = json::array();
    for (const auto& j : runner.dead_letters(200)) {
      items.push_back({{"job_id", j.id},
                       {"kind", j.kind},
                       {"payload", j.payload},
                       {"attempts", j.attempts},
                       {"last_error", j.last_error},
                       {"created_at", format_rfc3339(j.created_at_ms)},
                       {"failed_at", format_rfc3339(j.updated_at_ms)}});
    }
    return Response(200, json{{"dead_letters", std::move(items)}}.dump());
  });

  router.add_sync(Method::post, "/api/v1/admin/dead-letters/{id}/replay", [&runner](Request& req) {
    std::int64_t id = 0;
    auto text = req.param("id");
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || p != text.data() + text.size()) {
      return net::error_response(Error(Errc::validation_failed, "the job id must be a number", "id"), req.trace_id);
    }
    if (auto st = runner.replay(id); !st) return net::error_response(st.error(), req.trace_id);
    return Response(200, json{{"job_id", id}, {"status", "PENDING"}}.dump());
  });

  router.add_sync(Method::get, "/api/v1/admin/invariants", [&invariants, &clock](Request&) {
    auto found = invariants.check(clock.now_ms(), 5000);
    json items = json::array();
    for (const auto& v : found) items.push_back({{"invariant", v.invariant}, {"detail", v.detail}});
    return Response(200, json{{"ok", found.empty()}, {"violations", std::move(items)}}.dump());
  });
}

}  // namespace tacos::worker

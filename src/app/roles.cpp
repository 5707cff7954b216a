#include "app/roles.hpp"

#include <algorithm>
#include <set>

#include "auth/webhook_config.hpp"
#include "roles/gateway/module.hpp"
#include "roles/inventory/module.hpp"
#include "roles/payment/module.hpp"
#include "roles/queue/module.hpp"
#include "roles/reservation/module.hpp"
#include "roles/worker/module.hpp"

namespace tacos::app {

namespace {

// Start order: the inventory creates the demo event before the queue rebuilds its rooms; the
// gateway starts last, when everything it forwards to runs.
const std::vector<RoleEntry>& table() {
  static const std::vector<RoleEntry> kRoles{
      {"inventory", "events, sections, seats and stock; the seats' memory of holds", inventory::make_module,
       inventory::keys},
      {"queue", "the virtual waiting room: join, position, admission, entry tokens", queue::make_module, queue::keys},
      {"payment", "the payment simulator: intents, scenarios, signed webhooks", payment::make_module, payment::keys},
      {"reservation", "holds, confirmations, cancellations, expiry, orders, the webhook receiver",
       reservation::make_module, reservation::keys},
      {"worker", "background jobs: expiry, settlement, webhooks, outbox relay, retries, dead letters",
       worker::make_module, worker::keys},
      {"gateway", "public API edge: accounts, authentication, rate limits, idempotency, CORS, routing",
       gateway::make_module, gateway::keys},
  };
  return kRoles;
}

}  // namespace

std::span<const RoleEntry> role_table() { return table(); }

void register_keys() {
  for (const auto& r : table()) config::register_keys(r.keys());
}

Result<std::vector<const RoleEntry*>> resolve_roles(std::string_view roles) {
  std::set<std::string, std::less<>> wanted;
  if (roles == "all") {
    for (const auto& r : table()) wanted.emplace(r.name);
  } else {
    std::string_view rest = roles;
    while (true) {
      auto comma = rest.find(',');
      auto name = rest.substr(0, comma);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      auto it = std::find_if(table().begin(), table().end(), [&](const RoleEntry& r) { return r.name == name; });
      if (it == table().end()) {
        std::string known;
        for (const auto& r : table()) known += (known.empty() ? "" : ", ") + std::string(r.name);
        return Error(Errc::validation_failed, "unknown role '" + std::string(name) + "' (known: all, " + known + ")");
      }
      wanted.emplace(name);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  std::vector<const RoleEntry*> ordered;
  for (const auto& r : table()) {
    if (wanted.count(r.name)) ordered.push_back(&r);
  }
  return ordered;
}

std::string module_graph_markdown() {
  std::string out = "```mermaid\nflowchart LR\n";
  for (const auto& r : table()) {
    auto m = r.make();
    for (auto need : m->needs()) out += "  " + std::string(r.name) + " --> " + std::string(need) + "\n";
  }
  // The gateway uses no client: it forwards the public routes of the roles it does not run.
  for (const auto& r : table()) {
    if (r.name != "gateway") out += "  gateway -. routes .-> " + std::string(r.name) + "\n";
  }
  out += "```\n\n| role | uses the clients of | summary |\n|---|---|---|\n";
  for (const auto& r : table()) {
    auto m = r.make();
    std::string needs;
    for (auto need : m->needs()) needs += (needs.empty() ? "" : ", ") + std::string(need);
    out += "| " + std::string(r.name) + " | " + (needs.empty() ? "(none)" : needs) + " | " + std::string(r.summary) +
           " |\n";
  }
  return out;
}

}  // namespace tacos::app

#pragma once
// The roles this binary can run, as modules, in start order. `all` runs every one; a comma list
// runs some; the others are reached over the internal API (roles.<role>.url).

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "runtime/module.hpp"

namespace tacos::app {

struct RoleEntry {
  std::string_view name;
  std::string_view summary;
  std::unique_ptr<runtime::Module> (*make)();
  std::span<const config::KeyDecl> (*keys)();
};

/// Every role, in start order.
std::span<const RoleEntry> role_table();

/// Parses `all` or a comma list into role entries in start order; unknown names are errors.
Result<std::vector<const RoleEntry*>> resolve_roles(std::string_view roles);

/// Registers every module's configuration keys (the binary declares them all, whatever runs).
void register_keys();

/// The module graph (which role uses which other role's client), as the Markdown block
/// docs/architecture.md shows between its module-graph markers.
std::string module_graph_markdown();

}  // namespace tacos::app

#pragma once
// The table of roles this binary can run, with their dependencies. `all` starts every role in
// dependency order and stops them in reverse.

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tacos::app {

struct Context;

struct RoleSpec {
  std::string_view name;
  std::string_view summary;
  std::vector<std::string_view> after;  // roles that must start first when they run here too
  std::function<void(Context&)> start;  // registers routes, builds services; throws on failure
  std::function<void(Context&)> stop;
};

std::span<const RoleSpec> role_table();

/// Parses `all` or a comma list into role specs in start order; unknown names are errors.
Result<std::vector<const RoleSpec*>> resolve_roles(std::string_view roles);

}  // namespace tacos::app

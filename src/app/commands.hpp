#pragma once
// The subcommands of `tacos`. Each returns the process exit code:
// 0 success, 1 runtime failure, 2 bad usage or configuration.

#include <string>
#include <vector>

namespace tacos::app {

int run_cli(const std::vector<std::string>& args);

}  // namespace tacos::app

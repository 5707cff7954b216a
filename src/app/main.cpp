#include <string>
#include <vector>

#include "app/commands.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return tacos::app::run_cli(args);
}

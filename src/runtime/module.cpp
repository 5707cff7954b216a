#include "runtime/module.hpp"

#include "common/log.hpp"

namespace tacos::runtime {

void Teardown::push(std::string what, std::function<void()> step) {
  steps_.emplace_back(std::move(what), std::move(step));
}

void Teardown::run() {
  while (!steps_.empty()) {
    auto [what, step] = std::move(steps_.back());
    steps_.pop_back();
    try {
      step();
    } catch (const std::exception& e) {
      log::error("stopping failed", {log::str("step", what), log::str("error", e.what())});
    }
  }
}

store::Store& Env::need_store(std::string_view role) const {
  if (!store) throw std::logic_error(std::string(role) + " needs the store, and this process has none");
  return *store;
}

}  // namespace tacos::runtime

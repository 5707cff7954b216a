#pragma once
// A Fenwick (binary indexed) tree of counts over positions 1..n that grows on demand:
// point update and prefix sum in O(log n). The waiting room keeps one bit per place in it,
// so "how many are still waiting ahead of me" is one prefix sum. Not thread-safe.

#include <cstdint>
#include <vector>

namespace tacos::domain {

class Fenwick {
 public:
  /// Adds `delta` at position `i` (1-based), growing the tree if needed.
  void add(std::uint64_t i, std::int32_t delta) {
    if (i >= tree_.size()) grow(i + 1);
    for (; i < tree_.size(); i += i & (~i + 1)) tree_[i] += delta;
  }
  /// Sum over positions 1..i.
  std::int64_t prefix(std::uint64_t i) const {
    if (i >= tree_.size()) i = tree_.size() - 1;
    std::int64_t s = 0;
    for (; i > 0; i -= i & (~i + 1)) s += tree_[i];
    return s;
  }
  std::size_t memory_bytes() const { return tree_.capacity() * sizeof(std::int32_t); }

 private:
  void grow(std::uint64_t min_size) {
    std::uint64_t n = tree_.size() < 2 ? 1024 : tree_.size();
    while (n < min_size) n *= 2;
    // Rebuild from point values: recover each value, then re-add into the larger tree.
    std::vector<std::int32_t> values(tree_.size(), 0);
    for (std::uint64_t i = 1; i < tree_.size(); ++i) values[i] = static_cast<std::int32_t>(prefix(i) - prefix(i - 1));
    tree_.assign(n, 0);
    for (std::uint64_t i = 1; i < values.size(); ++i) {
      if (values[i] == 0) continue;
      for (std::uint64_t j = i; j < tree_.size(); j += j & (~j + 1)) tree_[j] += values[i];
    }
  }
  std::vector<std::int32_t> tree_ = std::vector<std::int32_t>(1, 0);
};

}  // namespace tacos::domain

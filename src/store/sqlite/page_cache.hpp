#pragma once
// SQLite's own page cache with one wasted scan taken out (docs/architecture.md, "Where the hold
// rate stops").
//
// When a B-tree page splits, SQLite (3.40) swaps page numbers through a temporary one: the
// "pending byte" page, number 262,145 with 4 KiB pages, which never holds data. The default page
// cache remembers that number as its largest key, and at the end of every transaction the pager
// asks it to drop the pages past the end of the database. With its largest key far past the
// end, the cache walks its whole hash table to find none: every page it holds, at every commit
// that split a page. With 64 MiB of cache that was about a tenth of the writer's time per hold.
//
// The wrapper forwards everything to the default cache and keeps its own upper bound on the
// page numbers present, not counting a page parked on the temporary number and moved on. It
// skips a truncation only when that bound shows no page to drop. Whatever it cannot account
// for (a parked page that never moves back, say) makes it forward, as before.

#include <cstdint>

namespace tacos::store::sqlite {

/// Installs the wrapper for the whole process. Must run before SQLite is initialized (before the
/// first connection opens); Db's constructor calls it. False if SQLite was initialized already,
/// and then the default cache stays.
bool install_page_cache();

struct PageCacheStats {
  std::uint64_t truncations = 0;  // asked of the cache
  std::uint64_t skipped = 0;      // answered without a scan: no page to drop
  std::uint64_t swaps = 0;        // pages parked on the temporary number during a split
};
PageCacheStats page_cache_stats();

}  // namespace tacos::store::sqlite

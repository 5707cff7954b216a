#include "store/sqlite/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>

namespace tacos::store::sqlite {

namespace {

// SQLite's default: the lock byte at 1 GiB, whose page never holds data.
constexpr unsigned kPendingByte = 0x40000000;

sqlite3_pcache_methods2 inner;  // the default cache, read once before SQLite is initialized
std::atomic<std::uint64_t> truncations{0}, skipped{0}, swaps{0};

// One cache (one connection's pages). SQLite calls a cache from one thread at a time.
struct Cache {
  sqlite3_pcache* inner = nullptr;
  unsigned temp_key = 0;  // the pending-byte page: the temporary number of a page being swapped
  unsigned max_key = 0;   // no page other than those parked on temp_key has a larger number
  int parked = 0;         // pages moved onto temp_key and not yet off it
};

Cache* of(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

int init(void* arg) { return inner.xInit(arg); }
void shutdown(void* arg) { inner.xShutdown(arg); }

sqlite3_pcache* create(int page_size, int extra, int purgeable) {
  auto* c = new (std::nothrow) Cache;
  if (!c) return nullptr;
  c->inner = inner.xCreate(page_size, extra, purgeable);
  if (!c->inner) {
    delete c;
    return nullptr;
  }
  c->temp_key = kPendingByte / static_cast<unsigned>(std::max(page_size, 1)) + 1;
  return reinterpret_cast<sqlite3_pcache*>(c);
}

void cachesize(sqlite3_pcache* p, int n) { inner.xCachesize(of(p)->inner, n); }
int pagecount(sqlite3_pcache* p) { return inner.xPagecount(of(p)->inner); }

sqlite3_pcache_page* fetch(sqlite3_pcache* p, unsigned key, int create_flag) {
  auto* c = of(p);
  // A page may come into being here (on any key, even temp_key): count it.
  if (create_flag) c->max_key = std::max(c->max_key, key);
  return inner.xFetch(c->inner, key, create_flag);
}

void unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) { inner.xUnpin(of(p)->inner, page, discard); }

void rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  auto* c = of(p);
  if (new_key == c->temp_key) {
    ++c->parked;
    swaps.fetch_add(1, std::memory_order_relaxed);
  } else {
    c->max_key = std::max(c->max_key, new_key);
  }
  if (old_key == c->temp_key && c->parked > 0) --c->parked;
  inner.xRekey(c->inner, page, old_key, new_key);
}

void truncate(sqlite3_pcache* p, unsigned limit) {
  auto* c = of(p);
  truncations.fetch_add(1, std::memory_order_relaxed);
  if (c->parked == 0 && c->max_key < limit) {
    skipped.fetch_add(1, std::memory_order_relaxed);
    return;  // no page numbered `limit` or above
  }
  inner.xTruncate(c->inner, limit);
  if (limit > 0) c->max_key = std::min(c->max_key, limit - 1);
  if (limit <= c->temp_key) c->parked = 0;
}

void destroy(sqlite3_pcache* p) {
  auto* c = of(p);
  inner.xDestroy(c->inner);
  delete c;
}

void shrink(sqlite3_pcache* p) { inner.xShrink(of(p)->inner); }

bool install() {
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) != SQLITE_OK || !inner.xCreate) return false;
  static const sqlite3_pcache_methods2 wrapped = {inner.iVersion, inner.pArg, init,  shutdown, create,
                                                  cachesize,      pagecount,  fetch, unpin,    rekey,
                                                  truncate,       destroy,    shrink};
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapped) == SQLITE_OK;
}

}  // namespace

bool install_page_cache() {
  static const bool installed = install();
  return installed;
}

PageCacheStats page_cache_stats() {
  return {truncations.load(std::memory_order_relaxed), skipped.load(std::memory_order_relaxed),
          swaps.load(std::memory_order_relaxed)};
}

}  // namespace tacos::store::sqlite

#include "store/sqlite/wal_vfs.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

namespace tacos::store::sqlite {

namespace {

// The most one write may carry: the unix VFS writes at most 128 KiB - 1 bytes per call (it masks
// the length with 0x1ffff) and reports a longer write as a full disk. About thirty frames.
constexpr std::size_t kMaxBlock = 0x1ffff;

std::atomic<std::uint64_t> writes{0};
std::atomic<std::uint64_t> blocks{0};

sqlite3_vfs* root = nullptr;  // the default VFS, set once at registration

// Our file is this header followed by the root VFS's own file object.
struct File {
  sqlite3_file base;           // base.pMethods: ours
  sqlite3_file* real;          // the root's file, right after this struct
  bool wal;                    // only WAL files collect writes
  std::vector<char>* pending;  // the collected bytes (WAL files only)
  sqlite3_int64 pending_at;    // their offset in the file
};

constexpr std::size_t kRealOffset =
    (sizeof(File) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) * alignof(std::max_align_t);

File* of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
const sqlite3_io_methods& real_methods(File* f) { return *f->real->pMethods; }

int flush(File* f) {
  if (!f->wal || f->pending->empty()) return SQLITE_OK;
  int rc = real_methods(f).xWrite(f->real, f->pending->data(), static_cast<int>(f->pending->size()), f->pending_at);
  f->pending->clear();
  blocks.fetch_add(1, std::memory_order_relaxed);
  return rc;
}

int x_close(sqlite3_file* file) {
  File* f = of(file);
  int flushed = flush(f);
  int rc = real_methods(f).xClose(f->real);
  delete f->pending;
  f->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = of(file);
  if (!f->wal) return real_methods(f).xWrite(f->real, data, amount, offset);
  writes.fetch_add(1, std::memory_order_relaxed);
  auto& buf = *f->pending;
  const auto n = static_cast<std::size_t>(amount);
  bool continues = !buf.empty() && offset == f->pending_at + static_cast<sqlite3_int64>(buf.size());
  if (!continues || buf.size() + n > kMaxBlock) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (n > kMaxBlock) {
    blocks.fetch_add(1, std::memory_order_relaxed);
    return real_methods(f).xWrite(f->real, data, amount, offset);
  }
  if (buf.empty()) f->pending_at = offset;
  const char* bytes = static_cast<const char*>(data);
  buf.insert(buf.end(), bytes, bytes + n);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xLock(f->real, level);
}

int x_unlock(sqlite3_file* file, int level) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xUnlock(f->real, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_methods(of(file)).xCheckReservedLock(of(file)->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFileControl(f->real, op, arg);
}

int x_sector_size(sqlite3_file* file) { return real_methods(of(file)).xSectorSize(of(file)->real); }

int x_device_characteristics(sqlite3_file* file) {
  return real_methods(of(file)).xDeviceCharacteristics(of(file)->real);
}

// Shared memory belongs to the database file (never a WAL file): forwarded as is.
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return real_methods(of(file)).xShmMap(of(file)->real, region, size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_methods(of(file)).xShmLock(of(file)->real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) { real_methods(of(file)).xShmBarrier(of(file)->real); }

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_methods(of(file)).xShmUnmap(of(file)->real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFetch(f->real, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  return real_methods(of(file)).xUnfetch(of(file)->real, offset, p);
}

const sqlite3_io_methods kMethods = {3,
                                     x_close,
                                     x_read,
                                     x_write,
                                     x_truncate,
                                     x_sync,
                                     x_file_size,
                                     x_lock,
                                     x_unlock,
                                     x_check_reserved_lock,
                                     x_file_control,
                                     x_sector_size,
                                     x_device_characteristics,
                                     x_shm_map,
                                     x_shm_lock,
                                     x_shm_barrier,
                                     x_shm_unmap,
                                     x_fetch,
                                     x_unfetch};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = of(file);
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->pending = nullptr;
  f->pending_at = 0;
  int rc = root->xOpen(root, name, f->real, flags, out_flags);
  if (!f->real->pMethods) {  // the open failed and left nothing to close
    f->base.pMethods = nullptr;
    return rc;
  }
  if (f->real->pMethods->iVersion < 3) f->wal = false;  // only met with the unix VFS, which is v3
  if (f->wal) f->pending = new (std::nothrow) std::vector<char>();
  if (f->wal && !f->pending) {
    f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  f->base.pMethods = &kMethods;
  return rc;
}

// The rest of the VFS is the root's.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) { return root->xDelete(root, name, sync_dir); }
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) { return root->xAccess(root, name, flags, out); }
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return root->xFullPathname(root, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return root->xDlOpen(root, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { root->xDlError(root, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* lib, const char* sym))(void) { return root->xDlSym(root, lib, sym); }
void x_dl_close(sqlite3_vfs*, void* lib) { root->xDlClose(root, lib); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return root->xRandomness(root, n, out); }
int x_sleep(sqlite3_vfs*, int us) { return root->xSleep(root, us); }
int x_current_time(sqlite3_vfs*, double* out) { return root->xCurrentTime(root, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) { return root->xGetLastError(root, n, out); }
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return root->xCurrentTimeInt64(root, out); }

const char* register_vfs() {
  static sqlite3_vfs vfs;
  root = sqlite3_vfs_find(nullptr);
  if (!root || root->iVersion < 2) return nullptr;
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(kRealOffset) + root->szOsFile;
  vfs.mxPathname = root->mxPathname;
  vfs.zName = "tacos-wal";
  vfs.xOpen = x_open;
  vfs.xDelete = x_delete;
  vfs.xAccess = x_access;
  vfs.xFullPathname = x_full_pathname;
  vfs.xDlOpen = x_dl_open;
  vfs.xDlError = x_dl_error;
  vfs.xDlSym = x_dl_sym;
  vfs.xDlClose = x_dl_close;
  vfs.xRandomness = x_randomness;
  vfs.xSleep = x_sleep;
  vfs.xCurrentTime = x_current_time;
  vfs.xGetLastError = x_get_last_error;
  vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return vfs.zName;
}

}  // namespace

const char* wal_vfs_name() {
  static const char* const name = register_vfs();
  return name;
}

WalVfsStats wal_vfs_stats() { return {writes.load(std::memory_order_relaxed), blocks.load(std::memory_order_relaxed)}; }

}  // namespace tacos::store::sqlite

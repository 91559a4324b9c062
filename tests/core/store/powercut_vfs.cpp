#include "tests/core/store/powercut_vfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace renderq::testing {
namespace {

constexpr std::int64_t kSectorBytes = 512;

}  // namespace

const char* CutKindName(CutKind kind) {
  switch (kind) {
    case CutKind::kDropUnsynced: return "drop-unsynced";
    case CutKind::kTorn: return "torn";
    case CutKind::kReordered: return "reordered";
  }
  return "?";
}

// What SQLite allocates per open file (vfs_.szOsFile): this header, then the
// platform VFS's own file object.
struct PowerCutVfs::File {
  sqlite3_file base;
  PowerCutVfs* vfs;
  FileState* state;  // null: a file the model does not track (temp files)
  sqlite3_file* real;
};

namespace {

PowerCutVfs::File* AsFile(sqlite3_file* f) { return reinterpret_cast<PowerCutVfs::File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return AsFile(f)->real; }

}  // namespace

PowerCutVfs& PowerCutVfs::Install() {
  static PowerCutVfs* vfs = new PowerCutVfs();  // registered for the process's life
  return *vfs;
}

PowerCutVfs::PowerCutVfs() {
  real_ = sqlite3_vfs_find(nullptr);
  if (real_ == nullptr) throw std::runtime_error("no default SQLite VFS");

  methods_.iVersion = 2;  // no xFetch: SQLite then reads through xRead, never mmap
  methods_.xClose = &PowerCutVfs::Close;
  methods_.xRead = [](sqlite3_file* f, void* data, int n, sqlite3_int64 off) {
    return Real(f)->pMethods->xRead(Real(f), data, n, off);
  };
  methods_.xWrite = &PowerCutVfs::Write;
  methods_.xTruncate = &PowerCutVfs::Truncate;
  methods_.xSync = &PowerCutVfs::Sync;
  methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
    return Real(f)->pMethods->xFileSize(Real(f), size);
  };
  methods_.xLock = [](sqlite3_file* f, int lock) {
    return Real(f)->pMethods->xLock(Real(f), lock);
  };
  methods_.xUnlock = [](sqlite3_file* f, int lock) {
    return Real(f)->pMethods->xUnlock(Real(f), lock);
  };
  methods_.xCheckReservedLock = [](sqlite3_file* f, int* out) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
  };
  methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
    return Real(f)->pMethods->xFileControl(Real(f), op, arg);
  };
  methods_.xSectorSize = [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); };
  methods_.xDeviceCharacteristics = &PowerCutVfs::DeviceCharacteristics;
  methods_.xShmMap = [](sqlite3_file* f, int region, int size, int extend, void volatile** p) {
    return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, p);
  };
  methods_.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
    return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  };
  methods_.xShmBarrier = [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); };
  methods_.xShmUnmap = [](sqlite3_file* f, int delete_flag) {
    return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
  };

  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
  vfs_.mxPathname = real_->mxPathname;
  vfs_.zName = "powercut";
  vfs_.pAppData = this;
  vfs_.xOpen = &PowerCutVfs::Open;
  vfs_.xDelete = &PowerCutVfs::Delete;
  vfs_.xAccess = [](sqlite3_vfs* v, const char* name, int flags, int* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xAccess(r, name, flags, out);
  };
  vfs_.xFullPathname = [](sqlite3_vfs* v, const char* name, int n, char* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xFullPathname(r, name, n, out);
  };
  vfs_.xDlOpen = [](sqlite3_vfs* v, const char* name) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xDlOpen(r, name);
  };
  vfs_.xDlError = [](sqlite3_vfs* v, int n, char* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    r->xDlError(r, n, out);
  };
  vfs_.xDlSym = [](sqlite3_vfs* v, void* handle, const char* symbol) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xDlSym(r, handle, symbol);
  };
  vfs_.xDlClose = [](sqlite3_vfs* v, void* handle) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    r->xDlClose(r, handle);
  };
  vfs_.xRandomness = [](sqlite3_vfs* v, int n, char* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xRandomness(r, n, out);
  };
  vfs_.xSleep = [](sqlite3_vfs* v, int us) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xSleep(r, us);
  };
  vfs_.xCurrentTime = [](sqlite3_vfs* v, double* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xCurrentTime(r, out);
  };
  vfs_.xGetLastError = [](sqlite3_vfs* v, int n, char* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xGetLastError(r, n, out);
  };
  vfs_.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) {
    sqlite3_vfs* r = static_cast<PowerCutVfs*>(v->pAppData)->real_;
    return r->xCurrentTimeInt64(r, out);
  };
  if (sqlite3_vfs_register(&vfs_, /*makeDflt=*/1) != SQLITE_OK) {
    throw std::runtime_error("sqlite3_vfs_register failed");
  }
}

bool PowerCutVfs::PowerOnLocked() {
  if (cut_) return false;
  if (countdown_ > 0 && --countdown_ == 0) {
    cut_ = true;
    return false;
  }
  return true;
}

void PowerCutVfs::ArmCut(std::int64_t n) {
  std::lock_guard lock(mu_);
  countdown_ = std::max<std::int64_t>(n, 1);
}

void PowerCutVfs::CutNow() {
  std::lock_guard lock(mu_);
  cut_ = true;
}

bool PowerCutVfs::cut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

std::int64_t PowerCutVfs::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

int PowerCutVfs::Open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out) {
  auto* self = static_cast<PowerCutVfs*>(v->pAppData);
  File* file = AsFile(f);
  file->vfs = self;
  file->state = nullptr;
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  const int rc = self->real_->xOpen(self->real_, name, file->real, flags, out);
  if (rc != SQLITE_OK) {
    file->base.pMethods = nullptr;  // SQLite then does not call xClose
    return rc;
  }
  file->base.pMethods = &self->methods_;
  const bool durable_kind =
      (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
  if (name == nullptr || !durable_kind || (flags & SQLITE_OPEN_DELETEONCLOSE) != 0) return rc;

  std::lock_guard lock(self->mu_);
  auto [it, inserted] = self->files_.try_emplace(name);
  FileState& state = it->second;
  if (inserted) {
    // First sight of the file: what is on disk now counts as durable (the
    // previous cut's Restore wrote exactly that).
    sqlite3_int64 size = 0;
    if (file->real->pMethods->xFileSize(file->real, &size) == SQLITE_OK && size > 0) {
      state.durable.resize(static_cast<std::size_t>(size));
      if (file->real->pMethods->xRead(file->real, state.durable.data(), static_cast<int>(size),
                                      0) != SQLITE_OK) {
        state.durable.clear();
      }
    }
    state.main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  }
  ++state.open_handles;
  file->state = &state;
  return rc;
}

int PowerCutVfs::Close(sqlite3_file* f) {
  File* file = AsFile(f);
  if (file->state != nullptr) {
    std::lock_guard lock(file->vfs->mu_);
    --file->state->open_handles;  // closing syncs nothing: pending writes stay pending
  }
  return file->real->pMethods->xClose(file->real);
}

int PowerCutVfs::Write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  File* file = AsFile(f);
  std::lock_guard lock(file->vfs->mu_);
  if (!file->vfs->PowerOnLocked()) return SQLITE_IOERR_WRITE;
  const int rc = file->real->pMethods->xWrite(file->real, data, amount, offset);
  if (rc == SQLITE_OK && file->state != nullptr) {
    file->state->pending.push_back(
        PendingOp{false, offset, std::string(static_cast<const char*>(data), amount)});
  }
  return rc;
}

int PowerCutVfs::Truncate(sqlite3_file* f, sqlite3_int64 size) {
  File* file = AsFile(f);
  std::lock_guard lock(file->vfs->mu_);
  if (!file->vfs->PowerOnLocked()) return SQLITE_IOERR_TRUNCATE;
  const int rc = file->real->pMethods->xTruncate(file->real, size);
  if (rc == SQLITE_OK && file->state != nullptr) {
    file->state->pending.push_back(PendingOp{true, size, {}});
  }
  return rc;
}

int PowerCutVfs::Sync(sqlite3_file* f, int /*flags*/) {
  File* file = AsFile(f);
  std::lock_guard lock(file->vfs->mu_);
  if (!file->vfs->PowerOnLocked()) return SQLITE_IOERR_FSYNC;
  ++file->vfs->syncs_;
  if (file->state != nullptr) {
    // fsync makes every write to the file durable, whichever handle made it.
    for (const PendingOp& op : file->state->pending) Apply(file->state->durable, op);
    file->state->pending.clear();
  }
  return SQLITE_OK;
}

int PowerCutVfs::DeviceCharacteristics(sqlite3_file* f) {
  // Only the promise the model keeps; never atomic or sequential writes.
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f)) & SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

int PowerCutVfs::Delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  auto* self = static_cast<PowerCutVfs*>(v->pAppData);
  std::lock_guard lock(self->mu_);
  if (!self->PowerOnLocked()) return SQLITE_IOERR_DELETE;
  const int rc = self->real_->xDelete(self->real_, name, sync_dir);
  if (rc == SQLITE_OK) {
    auto it = self->files_.find(name);
    if (it != self->files_.end() && it->second.open_handles == 0) self->files_.erase(it);
  }
  return rc;
}

void PowerCutVfs::Forget() {
  std::lock_guard lock(mu_);
  for (const auto& [path, state] : files_) {
    if (state.open_handles != 0)
      throw std::logic_error("PowerCutVfs::Forget with " + path + " open");
  }
  files_.clear();
}

void PowerCutVfs::Apply(std::string& image, const PendingOp& op) {
  const auto offset = static_cast<std::size_t>(op.offset);
  if (op.truncate) {
    image.resize(offset);  // growing fills with zeros, as ftruncate does
    return;
  }
  if (image.size() < offset + op.data.size()) image.resize(offset + op.data.size());
  std::memcpy(image.data() + offset, op.data.data(), op.data.size());
}

PowerCutVfs::RestoreReport PowerCutVfs::Restore(CutKind kind, std::mt19937_64& rng) {
  std::lock_guard lock(mu_);
  if (!cut_) throw std::logic_error("PowerCutVfs::Restore before a cut");
  RestoreReport report;
  std::bernoulli_distribution coin(0.5);

  // A write that lands only in part: each of its sectors (512-byte blocks of
  // the file the write covers) lands or not; nothing outside the range moves.
  auto torn = [&](std::string& image, const PendingOp& op) {
    const std::int64_t end = op.offset + static_cast<std::int64_t>(op.data.size());
    for (std::int64_t at = op.offset; at < end;) {
      const std::int64_t sector_end = std::min(end, (at / kSectorBytes + 1) * kSectorBytes);
      if (coin(rng)) {
        Apply(image, PendingOp{false, at,
                               op.data.substr(static_cast<std::size_t>(at - op.offset),
                                              static_cast<std::size_t>(sector_end - at))});
      }
      at = sector_end;
    }
  };

  std::vector<std::string> shm_files;
  for (auto& [path, state] : files_) {
    if (state.open_handles != 0)
      throw std::logic_error("PowerCutVfs::Restore with " + path + " open");
    std::string image = state.durable;
    const auto n = static_cast<std::int64_t>(state.pending.size());
    report.unsynced_writes += n;
    if (kind == CutKind::kTorn && n > 0) {
      const std::int64_t stop = std::uniform_int_distribution<std::int64_t>(0, n)(rng);
      for (std::int64_t i = 0; i < stop; ++i) Apply(image, state.pending[i]);
      report.landed += stop;
      if (stop < n && !state.pending[stop].truncate) {
        torn(image, state.pending[stop]);
        ++report.torn;
      }
    } else if (kind == CutKind::kReordered) {
      for (const PendingOp& op : state.pending) {
        const int fate = std::uniform_int_distribution<int>(0, 2)(rng);
        if (fate == 1) {
          Apply(image, op);
          ++report.landed;
        } else if (fate == 2 && !op.truncate) {
          torn(image, op);
          ++report.torn;
        }
      }
    }
    // Write the surviving image over the real file.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("PowerCutVfs: cannot rewrite " + path);
    std::size_t done = 0;
    while (done < image.size()) {
      const ssize_t n_written = ::write(fd, image.data() + done, image.size() - done);
      if (n_written <= 0) {
        ::close(fd);
        throw std::runtime_error("PowerCutVfs: cannot rewrite " + path);
      }
      done += static_cast<std::size_t>(n_written);
    }
    ::close(fd);
    state.durable = std::move(image);
    state.pending.clear();
    if (state.main_db) shm_files.push_back(path + "-shm");
  }
  for (const std::string& shm : shm_files) ::unlink(shm.c_str());
  cut_ = false;
  countdown_ = 0;
  return report;
}

}  // namespace renderq::testing

// PowerCutVfs: a test-only SQLite VFS that simulates losing power.
//
// It wraps the platform VFS ("unix") and passes every read and write through
// to the real files, but keeps for each database, WAL and journal file what
// the disk would hold durably: the content as of the file's last xSync, plus
// the writes and truncations issued since (not yet synced). A power cut
// (ArmCut/CutNow) turns the disk off at once: every later write, truncate,
// sync or delete fails with SQLITE_IOERR, as nothing reaches a disk without
// power. Once every connection is closed (the "processes" are dead), Restore()
// writes back to the files what survived the cut, in one of three ways:
//   kDropUnsynced  only what was synced: every unsynced write is lost
//   kTorn          the unsynced writes land in order up to a random point and
//                  the write at that point lands only in part (a random subset
//                  of its 512-byte sectors): power failed mid-write
//   kReordered     the disk flushed its cache in any order: each unsynced
//                  write lands, or not, or in part, independently
// and deletes the -shm files (the wal-index is rebuilt from the WAL, as after
// a reboot). The model keeps within the promise the platform VFS makes
// (SQLITE_IOCAP_POWERSAFE_OVERWRITE: a torn write never changes bytes outside
// the range written), which is what SQLite's recovery relies on; it claims no
// atomic or sequential writes. A file's creation and deletion are taken as
// durable when they happen (SQLite syncs the directory itself where it
// matters), so the model is about file contents.
//
// xSync does not call fsync: durability is the model's, and the tests run at
// memory speed.
//
// Thread safety: every VFS method may be called from any thread (one mutex);
// ArmCut, CutNow and cut() from any thread; Restore only while no file of the
// VFS is open.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace renderq::testing {

enum class CutKind { kDropUnsynced, kTorn, kReordered };
const char* CutKindName(CutKind kind);

class PowerCutVfs {
 public:
  // Registers the VFS as SQLite's default (once per process) and returns it.
  static PowerCutVfs& Install();

  // Cuts the power just before the `n`-th write, truncate, sync or delete
  // from now on (n >= 1), whichever connection issues it.
  void ArmCut(std::int64_t n);
  void CutNow();
  bool cut() const;

  struct RestoreReport {
    std::int64_t unsynced_writes = 0;  // pending when the power went
    std::int64_t landed = 0;           // of those, written whole
    std::int64_t torn = 0;             // written in part
  };
  // Writes back what survived the cut and powers the disk on again.
  // Requires: cut() and no open file.
  RestoreReport Restore(CutKind kind, std::mt19937_64& rng);

  // Forgets every file (their content stays as it is): for a fresh database,
  // or before the test removes its files. Requires: no open file.
  void Forget();

  // Calls counted since Install (all files).
  std::int64_t syncs() const;

  struct File;  // what SQLite allocates per open file (powercut_vfs.cpp)

 private:
  struct PendingOp {
    bool truncate = false;
    std::int64_t offset = 0;  // truncate: the new size
    std::string data;
  };
  struct FileState {
    std::string durable;  // the content as of the last sync
    std::vector<PendingOp> pending;
    bool main_db = false;
    int open_handles = 0;
  };

  PowerCutVfs();
  // The I/O methods and VFS entry points SQLite calls.
  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out);
  static int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir);
  static int Close(sqlite3_file* file);
  static int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset);
  static int Truncate(sqlite3_file* file, sqlite3_int64 size);
  static int Sync(sqlite3_file* file, int flags);
  static int DeviceCharacteristics(sqlite3_file* file);

  // Under mu_: false (the call must fail) when the power is off or goes off now.
  bool PowerOnLocked();
  static void Apply(std::string& image, const PendingOp& op);

  sqlite3_vfs vfs_{};
  sqlite3_vfs* real_ = nullptr;
  sqlite3_io_methods methods_{};

  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;  // by full path; guarded by mu_
  bool cut_ = false;                        // guarded by mu_
  std::int64_t countdown_ = 0;              // 0: not armed; guarded by mu_
  std::int64_t syncs_ = 0;                  // guarded by mu_
};

}  // namespace renderq::testing

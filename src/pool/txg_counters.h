// What the pool counts across a transaction group: the numbers it hands out
// (TIDs, inode numbers) against those the last commit stored, and the bytes
// buffered and written since — behind methods, so every change to them is one
// of these calls. REQUIRES: the pool lock (PoolCore::mu) for every call.
#pragma once

#include <algorithm>
#include <cstdint>

#include "meta/records.h"

namespace anyfs {

class TxgCounters {
 public:
  // After open: what the pool had handed out (and stored) so far.
  void start(Tid tid, Ino ino) {
    last_tid_ = committed_tid_ = tid;
    last_ino_ = committed_ino_ = ino;
  }
  // A read-only opener follows a writer: it committed up to `tid`.
  void follow(Tid tid) { committed_tid_ = last_tid_ = std::max(committed_tid_, tid); }

  Tid next_tid() { return ++last_tid_; }
  // The TID of the open group: the last one handed out in it, or a new one.
  Tid group_tid() { return last_tid_ > committed_tid_ ? last_tid_ : ++last_tid_; }
  // `tid` if the open group handed it out, else the open group's TID (a
  // record first changed in a committed group is written in this one).
  Tid stamp(Tid tid) { return tid > committed_tid_ ? tid : group_tid(); }
  Tid last_tid() const { return last_tid_; }
  Tid committed_tid() const { return committed_tid_; }
  Ino next_ino() { return ++last_ino_; }
  // Inode numbers up to `ino` are in use (a received dataset keeps the sender's).
  void cover_ino(Ino ino) { last_ino_ = std::max(last_ino_, ino); }
  Ino last_ino() const { return last_ino_; }
  bool tids_handed_out() const { return last_tid_ != committed_tid_; }
  bool numbers_handed_out() const { return last_tid_ != committed_tid_ || last_ino_ != committed_ino_; }

  // File bytes buffered in memory, not yet chunks.
  void buffered(std::uint64_t bytes) { dirty_bytes_ += bytes; }
  void unbuffered(std::uint64_t bytes) { dirty_bytes_ -= std::min(dirty_bytes_, bytes); }
  std::uint64_t dirty_bytes() const { return dirty_bytes_; }
  // Chunk bytes written into the open group.
  void wrote(std::uint64_t bytes) { txg_bytes_ += bytes; }
  std::uint64_t txg_bytes() const { return txg_bytes_; }

  // The group was rolled back: what it handed out is free again.
  void abandoned() {
    last_tid_ = committed_tid_;
    last_ino_ = committed_ino_;
    dirty_bytes_ = 0;
    txg_bytes_ = 0;
  }
  // The group committed: what was handed out is stored, nothing is pending.
  void committed() {
    committed_tid_ = last_tid_;
    committed_ino_ = last_ino_;
    dirty_bytes_ = 0;
    txg_bytes_ = 0;
  }

 private:
  Tid last_tid_ = 0;       // the last TID handed out
  Tid committed_tid_ = 0;  // last_tid_ as of the last commit
  Ino last_ino_ = 0;       // the last inode number handed out
  Ino committed_ino_ = 0;
  std::uint64_t dirty_bytes_ = 0;
  std::uint64_t txg_bytes_ = 0;
};

}  // namespace anyfs

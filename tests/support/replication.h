// What the send/receive tests share: byte sinks and sources over strings,
// a description of a tree a receiver must reproduce exactly, random changes
// of every kind a stream carries, and a fixture with a source and a target
// pool.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "anyfs/pool.h"
#include "support/must.h"
#include "support/temp_dir.h"

namespace anyfs::testing {

ByteSink into(std::string& out);
// Reads `in` (which must outlive it) in odd-sized pieces, as a pipe gives them.
ByteSource from(const std::string& in);

// Everything a receiver must reproduce about a tree: per path its object
// number, kind, attributes, times, symlink target, extended attributes and a
// hash of its bytes. Reading a live tree moves its access times, so those are
// left out (`atimes` false) where a live tree is described.
std::vector<std::string> describe(Fs& fs, bool atimes = false);

// One random change of the kinds a replication stream must carry: files of
// text or random bytes, directories, overwrites and holes, truncates,
// renames (over files too), removals of files and trees, hard links,
// symlinks, xattrs, chmods, times.
void mutate(Dataset& fs, std::mt19937_64& rng, int& serial);

// A receiver into `target` of the pool at `pool` in another process (this
// binary exec'd: nothing shared with this one, not even a lock a thread here
// holds) reads `stream` from a FIFO: it gets the first `part` bytes, `settle`
// to work on them, then SIGKILL — the rest never comes.
void kill_receiver_midway(const std::string& pool, const std::string& target, const std::string& stream,
                          std::size_t part, bool resumable, std::chrono::milliseconds settle);

// Two descriptions, compared line by line so that a failure names the first difference.
::testing::AssertionResult same(const std::vector<std::string>& a, const std::vector<std::string>& b);

class SendReceiveTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.str() + "/" + name; }
  std::shared_ptr<Pool> make(const std::string& name, PoolCreateOptions options = {}) {
    return must(Pool::create(path(name), options));
  }
  static std::string send(Pool& pool, const std::string& ds, const std::string& snap, SendOptions o = {},
                          SendReport* report = nullptr) {
    std::string out;
    auto r = must(pool.send(ds, snap, o, into(out)));
    if (report) *report = r;
    EXPECT_EQ(r.bytes, out.size());
    return out;
  }
  static std::vector<std::string> at(Pool& pool, const std::string& ds, const std::string& snap,
                                     bool atimes = true) {
    return describe(*must(pool.dataset_at(ds, AsOf::at_snapshot(snap))), atimes);
  }
  static void expect_verified(Pool& pool) {
    auto report = must(pool.verify());
    for (const auto& p : report.problems) ADD_FAILURE() << p;
  }
  // The target's snapshots and live tree (what a failed receive must leave).
  static std::vector<std::string> state_of(Pool& pool, const std::string& ds) {
    auto names = pool.datasets();
    if (!names || std::find(names->begin(), names->end(), ds) == names->end()) return {"(no dataset)"};
    auto out = describe(*must(pool.dataset(ds)));
    for (const auto& s : must(pool.snapshots(ds))) out.push_back("@" + s.name + " " + s.guid);
    return out;
  }
  TempDir dir_;
};

}  // namespace anyfs::testing

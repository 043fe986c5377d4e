// Every way a replication stream can go wrong — flipped bits, cuts, swapped,
// dropped or doubled records, a wrong or missing base, a newer format, a
// killed receiver — refused with the right error and the target left as it
// was; resumable receives cut anywhere, aborted, killed; the stream codec.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "anyfs/pool.h"
#include "chunk/hash.h"
#include "send/stream_format.h"
#include "support/exec_self.h"
#include "support/must.h"
#include "support/random_bytes.h"
#include "support/raw_sql.h"
#include "support/replication.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

// --- What goes wrong ----------------------------------------------------------------

class BrokenStreamTest : public SendReceiveTest {
 protected:
  void SetUp() override {
    src_ = make("src.anyfs");
    auto fs = must(src_->dataset());
    std::mt19937_64 rng(41);
    int serial = 0;
    for (int i = 0; i < 25; ++i) mutate(*fs, rng, serial);
    must(src_->snapshot("", "a"));
    for (int i = 0; i < 10; ++i) mutate(*fs, rng, serial);
    must(src_->snapshot("", "b"));
    full_ = send(*src_, "", "a");
    inc_ = send(*src_, "", "b", {.from = "@a"});
    dst_ = make("dst.anyfs");
    must(dst_->receive("t", from(full_)));
    before_ = state_of(*dst_, "t");
  }
  // `stream` into the dataset holding @a (incremental) or a new one (full):
  // refused with `code`, and nothing changed.
  void expect_refused(const std::string& stream, Errc code, const std::string& why, bool incremental = false) {
    const std::string target = incremental ? "t" : "fresh";
    auto got = dst_->receive(target, from(stream));
    ASSERT_FALSE(got) << why;
    EXPECT_EQ(got.error().code, code) << why << ": " << got.error().to_string();
    EXPECT_EQ(state_of(*dst_, "t"), before_) << why;
    EXPECT_EQ(state_of(*dst_, "fresh"), std::vector<std::string>{"(no dataset)"}) << why;
  }
  std::shared_ptr<Pool> src_, dst_;
  std::string full_, inc_;
  std::vector<std::string> before_;
};

TEST_F(BrokenStreamTest, AFlippedBitAnywhereIsRefused) {
  std::mt19937_64 rng(1);
  for (const std::string* s : {&full_, &inc_})
    for (int i = 0; i < 40; ++i) {
      std::string bad = *s;
      const std::size_t at = rng() % bad.size();
      bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
      expect_refused(bad, Errc::Corrupt, fmt::format("bit flipped at byte {}", at), s == &inc_);
    }
  // And the intact streams still go in afterwards: the pool is fine.
  ASSERT_OK(dst_->receive("t", from(inc_)));
  EXPECT_TRUE(same(at(*src_, "", "b"), at(*dst_, "t", "b")));
  expect_verified(*dst_);
}

TEST_F(BrokenStreamTest, AStreamCutAnywhereIsRefused) {
  std::mt19937_64 rng(2);
  for (const std::string* s : {&full_, &inc_})
    for (int i = 0; i < 50; ++i) {
      const std::size_t cut = i == 0 ? 0 : rng() % s->size();
      expect_refused(s->substr(0, cut), cut == 0 ? Errc::Corrupt : Errc::NoData, fmt::format("cut at {}", cut),
                     s == &inc_);
    }
  ASSERT_OK(dst_->receive("t", from(inc_)));
  expect_verified(*dst_);
}

TEST_F(BrokenStreamTest, SwappedDroppedOrAddedRecordsAreRefused) {
  // The frames of the incremental, each with a valid checksum of its own.
  std::vector<std::string> frames;
  std::size_t at = stream::k_magic.size();
  while (at < inc_.size()) {
    std::uint32_t length = 0;
    std::memcpy(&length, inc_.data() + at + 1, 4);
    frames.push_back(inc_.substr(at, 5 + length + 8));
    at += frames.back().size();
  }
  ASSERT_GE(frames.size(), 5u);
  auto join = [&](const std::vector<std::string>& f) {
    std::string out(stream::k_magic);
    for (const auto& x : f) out += x;
    return out;
  };
  auto swapped = frames;
  std::swap(swapped[1], swapped[2]);
  auto dropped = frames;
  dropped.erase(dropped.begin() + 2);
  auto doubled = frames;
  doubled.insert(doubled.begin() + 2, frames[2]);
  auto trailing = join(frames) + "x";
  // Swapped and dropped records keep their own checksums: the digest catches them.
  for (const auto& [bad, why] : {std::pair{join(swapped), "swapped"}, std::pair{join(dropped), "dropped"},
                                 std::pair{join(doubled), "doubled"}}) {
    auto got = dst_->receive("t", from(bad));
    ASSERT_FALSE(got) << why;
    EXPECT_EQ(got.error().code, Errc::Corrupt) << why << ": " << got.error().to_string();
    EXPECT_EQ(state_of(*dst_, "t"), before_) << why;
  }
  auto got = dst_->receive("t", from(trailing));
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("after the end"), std::string::npos) << got.error().to_string();
  EXPECT_EQ(state_of(*dst_, "t"), before_);
}

TEST_F(BrokenStreamTest, AWrongOrMissingBaseIsRefusedByName) {
  // Into a dataset without the base.
  must(dst_->create_dataset("other"));
  auto got = dst_->receive("other", from(inc_));
  ASSERT_ERR(got, NotFound);
  EXPECT_NE(got.error().message.find("base"), std::string::npos) << got.error().to_string();
  // A snapshot of the same name that is not the same snapshot (another guid).
  auto other = make("other.anyfs");
  auto ofs = must(other->dataset());
  must(ofs->write_file("/z", "z"));
  must(other->snapshot("", "a"));
  must(dst_->receive("lookalike", from(send(*other, "", "a"))));
  got = dst_->receive("lookalike", from(inc_));
  ASSERT_ERR(got, NotFound);
  EXPECT_NE(got.error().message.find(must(src_->snapshots("")).front().guid), std::string::npos);
  // A full stream into an existing dataset, an incremental into a missing one.
  ASSERT_ERR(dst_->receive("t", from(full_)), Exists);
  ASSERT_ERR(dst_->receive("missing", from(inc_)), NotFound);
  ASSERT_ERR(dst_->receive("no/parent", from(full_)), NotFound);
  EXPECT_EQ(state_of(*dst_, "t"), before_);
}

TEST_F(BrokenStreamTest, ATargetChangedSinceItsBaseNeedsForce) {
  auto t = must(dst_->dataset("t"));
  must(t->write_file("/local-change", "mine"));
  must(dst_->sync());
  t.reset();
  const auto changed = state_of(*dst_, "t");
  auto got = dst_->receive("t", from(inc_));
  ASSERT_ERR(got, Busy);
  EXPECT_NE(got.error().message.find("-F"), std::string::npos);
  EXPECT_EQ(state_of(*dst_, "t"), changed);
  auto forced = must(dst_->receive("t", from(inc_), {.force = true}));
  EXPECT_TRUE(forced.rolled_back);
  EXPECT_TRUE(same(describe(*must(dst_->dataset("t"))), at(*src_, "", "b", false)));
  expect_verified(*dst_);
}

TEST_F(BrokenStreamTest, ANewerFormatIsRefusedAsSuch) {
  std::string out;
  stream::StreamWriter w(into(out));
  stream::Header h;
  h.version = stream::k_version + 1;
  h.to_name = "x";
  h.to_guid = "00";
  must(w.write(h));
  must(w.end());
  auto got = dst_->receive("fresh", from(out));
  ASSERT_ERR(got, Unsupported);
  EXPECT_NE(got.error().message.find("newer"), std::string::npos);
  expect_refused("definitely not a stream", Errc::Corrupt, "garbage");
}

// A stream that checks out but describes a broken tree (a sender's bug) is
// refused, not received: an entry naming nothing, data for a directory, a
// root that is not a directory.
TEST_F(BrokenStreamTest, AWellFormedStreamOfABrokenTreeIsRefused) {
  auto stream_of = [](const std::vector<stream::Record>& records) {
    std::string out;
    stream::StreamWriter w(into(out));
    stream::Header h;
    h.to_name = "x";
    h.to_guid = "feed";
    must(w.write(h));
    for (const auto& r : records) must(w.write(r));
    must(w.end());
    return out;
  };
  InodeRecord root;
  root.ino = k_root_ino;
  root.kind = FileKind::Directory;
  root.mode = 0755;
  root.nlink = 2;
  InodeRecord dir = root;
  dir.ino = 5;
  InodeRecord file;
  file.ino = 6;
  file.kind = FileKind::Regular;
  file.nlink = 1;
  const std::string chunk_bytes = "hello";
  const ChunkId id = sha256(chunk_bytes);
  const stream::Chunk chunk{id, StoredChunk{Codec::None, 5, chunk_bytes, xxh3(chunk_bytes)}};
  const std::vector<std::pair<std::string, std::vector<stream::Record>>> cases = {
      {"an entry naming nothing", {stream::Object{root}, stream::Link{{k_root_ino, "ghost", 99, FileKind::Regular}}}},
      {"data for a directory",
       {stream::Object{root}, stream::Object{dir}, stream::Link{{k_root_ino, "d", 5, FileKind::Directory}}, chunk,
        stream::Extent{{5, 0, 5, id, 0}}}},
      {"a root that is a file", {stream::Object{[&] {
         InodeRecord r = file;
         r.ino = k_root_ino;
         return r;
       }()}}},
      {"no root at all", {stream::Object{file}}},
      {"an entry of a kind its object is not",
       {stream::Object{root}, stream::Object{file}, stream::Link{{k_root_ino, "f", 6, FileKind::Directory}}}},
  };
  for (const auto& [why, records] : cases) {
    auto got = dst_->receive("fresh", from(stream_of(records)));
    ASSERT_FALSE(got) << why;
    EXPECT_EQ(got.error().code, Errc::Corrupt) << why << ": " << got.error().to_string();
    EXPECT_EQ(state_of(*dst_, "fresh"), std::vector<std::string>{"(no dataset)"}) << why;
  }
  // The same records, whole, go in.
  root.size = 1;
  file.size = 5;
  ASSERT_OK(dst_->receive("fresh", from(stream_of({stream::Object{root}, stream::Object{file}, chunk,
                                                   stream::Extent{{6, 0, 5, id, 0}},
                                                   stream::Link{{k_root_ino, "f", 6, FileKind::Regular}}}))));
  EXPECT_EQ(must(must(dst_->dataset("fresh"))->read_file("/f")), "hello");
  expect_verified(*dst_);
}

// A receiver killed halfway leaves nothing: the next open finds the target as
// it was, and the stream goes in whole afterwards.
TEST_F(BrokenStreamTest, AKilledReceiverLeavesTheTargetAsItWas) {
  ASSERT_OK(dst_->close());
  dst_.reset();
  for (int round = 0; round < 3; ++round) {
    // Most of the stream, then the kill (the writer never sends the end).
    kill_receiver_midway(path("dst.anyfs"), "t", inc_, inc_.size() * (round + 1) / 4, false,
                         std::chrono::milliseconds(100));
    auto pool = must(Pool::open(path("dst.anyfs")));
    EXPECT_EQ(state_of(*pool, "t"), before_) << "round " << round;
    expect_verified(*pool);
  }
  auto pool = must(Pool::open(path("dst.anyfs")));
  ASSERT_OK(pool->receive("t", from(inc_)));
  EXPECT_TRUE(same(at(*src_, "", "b"), at(*pool, "t", "b")));
}

// --- Resumable receives -------------------------------------------------------------

// Feeds `stream` to a resumable receive in pieces cut at random places, each
// time resuming from the token the last one left, until it goes in whole.
// Returns how many cuts it took.
int receive_in_cuts(Pool& src, Pool& dst, const std::string& target, const std::string& stream,
                    std::mt19937_64& rng, int cuts) {
  std::string next = stream;
  for (int i = 0;; ++i) {
    const bool cut = i < cuts && next.size() > 1;
    const std::string piece = cut ? next.substr(0, rng() % next.size()) : next;
    auto got = dst.receive(target, from(piece), {.resumable = true});
    if (!cut) {
      EXPECT_TRUE(got) << got.error().to_string();
      EXPECT_FALSE(must(dst.receive_resume_token(target)));
      return i;
    }
    EXPECT_FALSE(got) << "cut " << i << " at " << piece.size() << " of " << next.size();
    auto token = must(dst.receive_resume_token(target));
    if (!token) {  // cut inside the header: nothing was kept, start again
      next = stream;
      continue;
    }
    next.clear();
    must(src.send("", "", {.resume_token = *token}, into(next)));
    // The rest, made again, is the original's from where the receiver's kept bytes end.
    const auto offset = must(stream::parse_resume_token(*token)).offset;
    EXPECT_EQ(next.substr(stream::resume_preamble(*token).size()), stream.substr(offset));
  }
}

TEST_F(SendReceiveTest, AResumableReceiveFinishesAfterCutsAnywhere) {
  auto src = make("src.anyfs");
  auto fs = must(src->dataset());
  std::mt19937_64 rng(51);
  int serial = 0;
  std::vector<std::string> streams;
  for (int i = 0; i < 30; ++i) mutate(*fs, rng, serial);
  must(src->snapshot("", "s0"));
  streams.push_back(send(*src, "", "s0"));
  for (int step = 1; step < 5; ++step) {
    for (int i = 0; i < 10; ++i) mutate(*fs, rng, serial);
    must(src->snapshot("", "s" + std::to_string(step)));
    SendOptions o{.from = "@s" + std::to_string(step - 1)};
    if (step == 3) {  // from a bookmark: whole objects, and resumed as such
      must(src->bookmark("", "s2", "m2"));
      o.from = "#m2";
    }
    streams.push_back(send(*src, "", "s" + std::to_string(step), o));
  }
  // The streams are made again the same (what resuming relies on).
  {
    auto again = send(*src, "", "s0");
    ASSERT_EQ(again.size(), streams[0].size());
    for (std::size_t i = 0; i < again.size(); ++i) ASSERT_EQ(again[i], streams[0][i]) << "byte " << i;
  }
  auto dst = make("dst.anyfs");
  int total = 0;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    total += receive_in_cuts(*src, *dst, "t", streams[i], rng, 20);
    ASSERT_TRUE(same(at(*src, "", "s" + std::to_string(i)), at(*dst, "t", "s" + std::to_string(i)))) << i;
  }
  EXPECT_GE(total, 100);
  expect_verified(*dst);
}

TEST_F(SendReceiveTest, AnAbortedResumableReceiveLeavesNothing) {
  auto src = make("src.anyfs");
  auto fs = must(src->dataset());
  must(fs->write_file("/f", random_bytes(200000, 1)));
  must(src->snapshot("", "a"));
  must(fs->write_file("/g", random_bytes(200000, 2)));
  must(src->snapshot("", "b"));
  auto full = send(*src, "", "a");
  auto inc = send(*src, "", "b", {.from = "@a"});
  auto dst = make("dst.anyfs");
  must(dst->receive("t", from(full)));
  const auto before = state_of(*dst, "t");
  EXPECT_FALSE(dst->receive("t", from(inc.substr(0, inc.size() / 2)), {.resumable = true}));
  auto token = must(dst->receive_resume_token("t"));
  ASSERT_TRUE(token);
  EXPECT_EQ(must(dst->get_property("t", "receive_resume_token")), *token);
  EXPECT_EQ(state_of(*dst, "t"), before);  // kept, not applied
  // While it is kept, a fresh stream is refused (Busy), and a resumption of another receive too.
  ASSERT_ERR(dst->receive("t", from(inc)), Busy);
  std::string wrong = stream::resume_preamble("anyfs-resume-1:00:@00:5") + "xx";
  ASSERT_ERR(dst->receive("t", from(wrong)), InvalidArgument);
  ASSERT_OK(dst->abort_receive("t"));
  EXPECT_FALSE(must(dst->receive_resume_token("t")));
  ASSERT_ERR(dst->abort_receive("t"), NotFound);
  EXPECT_EQ(state_of(*dst, "t"), before);
  // A resumption after the abort is refused; the whole stream goes in.
  std::string rest;
  must(src->send("", "", {.resume_token = *token}, into(rest)));
  ASSERT_ERR(dst->receive("t", from(rest)), NotFound);
  ASSERT_OK(dst->receive("t", from(inc)));
  EXPECT_TRUE(same(at(*src, "", "b"), at(*dst, "t", "b")));
  ASSERT_OK(dst->close());
  EXPECT_EQ(raw_sql_int(path("dst.anyfs"), "SELECT count(*) FROM receive_spool"), 0);
}

// A resumable receiver killed keeps what it committed (in pieces of a few
// MiB), and resumes from there to the same result.
TEST_F(SendReceiveTest, AKilledResumableReceiverResumes) {
  auto src = make("src.anyfs", {.properties = {{"compression", "off"}}});
  auto fs = must(src->dataset());
  for (int i = 0; i < 5; ++i) must(fs->write_file("/f" + std::to_string(i), random_bytes(2'000'000, i)));
  must(src->snapshot("", "a"));
  const auto stream = send(*src, "", "a");
  make("dst.anyfs").reset();
  const std::size_t part = stream.size() * 9 / 10;
  kill_receiver_midway(path("dst.anyfs"), "t", stream, part, true, std::chrono::milliseconds(300));
  auto dst = must(Pool::open(path("dst.anyfs")));
  auto token = must(dst->receive_resume_token("t"));
  ASSERT_TRUE(token);
  const auto offset = must(stream::parse_resume_token(*token)).offset;
  EXPECT_GE(offset, 4u << 20);
  EXPECT_LE(offset, part);
  std::string rest;
  must(src->send("", "", {.resume_token = *token}, into(rest)));
  EXPECT_LT(rest.size(), stream.size() - offset + 1024);
  ASSERT_OK(dst->receive("t", from(rest)));
  EXPECT_TRUE(same(at(*src, "", "a"), at(*dst, "t", "a")));
  expect_verified(*dst);
}

// --- The stream codec -----------------------------------------------------------------

TEST(StreamFormatTest, EveryRecordTypeRoundTrips) {
  std::string out;
  stream::StreamWriter w(into(out));
  stream::Header h;
  h.pool_uuid = "p";
  h.dataset = "d";
  h.from_guid = "f";
  h.from_tid = 3;
  h.to_guid = "g";
  h.to_tid = 9;
  h.to_name = "snap";
  h.to_time_ns = -5;
  InodeRecord inode;
  inode.ino = 42;
  inode.kind = FileKind::Symlink;
  inode.mode = 0777;
  inode.target = "there";
  inode.mtime_ns = -1;
  ExtentRecord extent{42, 10, 20, sha256("c"), 5};
  StoredChunk chunk{Codec::None, 1, "c", xxh3("c")};
  const std::vector<stream::Record> records = {
      h,
      stream::Object{inode},
      stream::Free{7},
      stream::Link{DirentRecord{1, "name", 42, FileKind::Symlink}},
      stream::Unlink{1, "old"},
      stream::Chunk{sha256("c"), chunk},
      stream::Extent{extent},
      stream::Punch{42, stream::k_every_extent},
      stream::Xattrs{42, {{"user.a", std::string("v\0w", 3)}}},
      stream::Entries{1, {DirentRecord{1, "x", 5, FileKind::Regular}}},
  };
  for (const auto& r : records) must(w.write(r));
  must(w.end());
  stream::StreamReader r(from(out));
  for (const auto& want : records) {
    auto got = must(r.next());
    ASSERT_EQ(got.index(), want.index());
  }
  auto end = must(r.next());
  EXPECT_TRUE(std::holds_alternative<stream::End>(end));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.offset(), out.size());
  // Field by field for the ones with the most fields.
  stream::StreamReader again(from(out));
  auto h2 = std::get<stream::Header>(must(again.next()));
  EXPECT_EQ(h2.to_time_ns, -5);
  EXPECT_EQ(h2.from_tid, 3u);
  EXPECT_EQ(h2.to_name, "snap");
  auto o2 = std::get<stream::Object>(must(again.next()));
  EXPECT_EQ(o2.inode.target, "there");
  EXPECT_EQ(o2.inode.mtime_ns, -1);
  EXPECT_EQ(o2.inode.kind, FileKind::Symlink);
}

TEST(StreamFormatTest, TheWriterRefusesRecordsOutOfOrder) {
  std::string out;
  stream::StreamWriter w(into(out));
  EXPECT_ERR(w.write(stream::Free{1}), InvalidArgument);
  EXPECT_ERR(w.end(), InvalidArgument);
  must(w.write(stream::Header{}));
  EXPECT_ERR(w.write(stream::Header{}), InvalidArgument);
  must(w.end());
  EXPECT_ERR(w.write(stream::Free{1}), InvalidArgument);
}

}  // namespace
}  // namespace anyfs::testing

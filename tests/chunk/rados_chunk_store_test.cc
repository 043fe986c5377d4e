// The RADOS ChunkStore beyond the chunk-store conformance suite, against the
// test cluster (scripts/ceph): namespaces keep pools apart, writes in flight
// are durable once make_durable returns and read back from a second client,
// and a missing pool or cluster is a clear error, not a hang.
#include "chunk/rados_chunk_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "chunk/hash.h"
#include "support/ceph.h"
#include "support/must.h"
#include "support/raw_chunk.h"
#include "support/result_matchers.h"
#include "support/temp_dir.h"

namespace anyfs::testing {
namespace {

std::unique_ptr<ChunkStore> open_store(const std::string& ns) {
  return must(open_rados_chunk_store({ceph_conf(), "anyfs", ns}));
}

TEST(RadosChunkStoreTest, NamespacesKeepPoolsApart) {
  const std::string ns_a = fresh_rados_namespace(), ns_b = fresh_rados_namespace();
  auto a = open_store(ns_a);
  auto b = open_store(ns_b);
  ASSERT_OK(a->put(sha256("a"), raw_chunk("a")));
  ASSERT_OK(b->put(sha256("b"), raw_chunk("b")));
  ASSERT_OK(a->make_durable());
  ASSERT_OK(b->make_durable());
  EXPECT_EQ(must(a->list()), std::vector<ChunkId>{sha256("a")});
  EXPECT_EQ(must(b->list()), std::vector<ChunkId>{sha256("b")});
  EXPECT_FALSE(must(a->has(sha256("b"))));
}

TEST(RadosChunkStoreTest, ManyWritesInFlightAreAllThereForAnotherClientOnceDurable) {
  const std::string ns = fresh_rados_namespace();
  auto writer = open_store(ns);
  std::vector<ChunkId> ids;
  for (int n = 0; n < 300; ++n) {  // past the bound on writes in flight
    const std::string data = "chunk " + std::to_string(n) + std::string(static_cast<std::size_t>(n) * 37, 'x');
    ids.push_back(sha256(data));
    ASSERT_OK(writer->put(ids.back(), raw_chunk(data)));
  }
  ASSERT_OK(writer->make_durable());
  auto reader = open_store(ns);  // another connection to the cluster
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(must(reader->list()), ids);
  const std::string data = "chunk 299" + std::string(299 * 37, 'x');
  EXPECT_EQ(must(load_chunk(*reader, sha256(data), true)), data);
}

TEST(RadosChunkStoreTest, AMissingPoolIsNotFound) {
  auto store = open_rados_chunk_store({ceph_conf(), "no-such-pool", ""});
  ASSERT_ERR(store, NotFound);
  EXPECT_NE(store.error().message.find("no such RADOS pool"), std::string::npos) << store.error().message;
}

TEST(RadosChunkStoreTest, AClusterThatIsNotThereIsAnIoErrorWithinTheTimeout) {
  TempDir dir;
  const std::string conf = dir.str() + "/ceph.conf";
  std::ofstream(conf) << "[global]\nmon host = [v2:127.0.0.1:1]\nauth client required = none\n"
                         "ms mon client mode = crc\n";
  RadosOptions options{conf, "anyfs", ""};
  options.timeout_s = 2;
  auto store = open_rados_chunk_store(options);
  ASSERT_ERR(store, Io);
  EXPECT_NE(store.error().message.find("cannot connect to the Ceph cluster"), std::string::npos)
      << store.error().message;
}

}  // namespace
}  // namespace anyfs::testing

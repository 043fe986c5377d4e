// ChunkStore: where chunk bytes live, keyed by their content id (DESIGN.md §4).
// A backend only stores and returns what it is given — put/get/has/remove/list,
// as ccache's remote storage — and one conformance suite runs against every
// backend (tests/chunk/chunk_store_test.cc). Hashing, compression and the
// checksum checked on every read are done once, for all backends, by
// store_chunk()/load_chunk() below.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "chunk/codec.h"
#include "chunk/hash.h"
#include "chunk/placement.h"

namespace anyfs {

// One chunk as stored: its codec, its raw (plaintext) size, the stored bytes and
// the XXH3-64 of the stored bytes.
struct StoredChunk {
  Codec codec = Codec::None;
  std::uint32_t raw_size = 0;
  std::string stored;
  std::uint64_t checksum = 0;
};

// What checking every copy of one chunk found (ChunkStore::check_copies).
struct ChunkCheck {
  unsigned copies = 0;    // copies read (those on a volume that cannot be read are not)
  unsigned bad = 0;       // of them, failing a checksum or unreadable
  unsigned repaired = 0;  // bad ones rewritten from a good copy
  bool lost = false;      // no good copy: the chunk cannot be read
  std::uint64_t bytes_read = 0;  // stored bytes read
  std::string problem;    // what was wrong with a bad copy, the first one
  // Where a bad copy could be neither rewritten nor moved (its volume's pages
  // around it are damaged and no other volume may take it): those volumes.
  std::vector<std::string> unrepaired;
};

class ChunkStore {
 public:
  virtual ~ChunkStore() = default;

  // Stores `chunk` under `id`. Putting an id that is present already succeeds and
  // keeps the stored copy (content addressing: same id, same bytes).
  // Errors: NoSpace, Io.
  virtual Result<void> put(const ChunkId& id, const StoredChunk& chunk) = 0;

  // put() where `placement` says, for a store of several places (volumes);
  // a store of one place ignores it. Errors: those of put, NoSpace when too
  // few places can take the chunk.
  virtual Result<void> put_placed(const ChunkId& id, const StoredChunk& chunk, const Placement& placement) {
    (void)placement;
    return put(id, chunk);
  }

  // Makes every chunk put so far durable where it lives apart from the
  // records (volume files): called before the transaction of records that
  // name them commits (DESIGN.md §4, rule 1). Errors: Io, NoSpace.
  virtual Result<void> make_durable() { return {}; }
  // That transaction committed: chunks removed in it may now leave the places
  // they live apart from the records (rule 2). A failure here leaves orphans,
  // which gc finds (rule 3).
  virtual void committed() {}
  // Removes the chunks kept apart from the records (on volume files) that
  // no record names — left by a crash between the two commits (rule 3) —
  // adding how many and their stored bytes. A store of one place has none.
  // REQUIRES: no chunk put since the last commit. Errors: Io.
  virtual Result<void> sweep_unnamed(std::uint64_t& removed, std::uint64_t& bytes) {
    (void)removed;
    (void)bytes;
    return {};
  }

  // The chunk stored under `id`, as stored (no check). Errors: NotFound, Io.
  virtual Result<StoredChunk> get(const ChunkId& id) = 0;

  // Reads the stored bytes of `id` straight into `out` when they are exactly
  // out.size() bytes stored as is (Codec::None: no decoding, so no buffer of
  // its own), filling `chunk` but for its `stored`, and returns true. For any
  // other chunk returns false with `chunk` described, its `stored` either as
  // get() returns it or left empty for the caller to get(). Errors: NotFound, Io.
  virtual Result<bool> get_into(const ChunkId& id, std::span<char> out, StoredChunk& chunk);

  // Whether `id` is stored. Errors: Io.
  virtual Result<bool> has(const ChunkId& id) = 0;

  // Deletes `id`. Errors: NotFound, Io.
  virtual Result<void> remove(const ChunkId& id) = 0;

  // Every stored id, sorted. Errors: Io.
  virtual Result<std::vector<ChunkId>> list() = 0;

  // Reads every copy of `id` and checks both checksums of each (the stored
  // bytes' XXH3 and the SHA-256 of the decoded bytes against the id); with
  // `repair`, rewrites each bad copy from a good one. A store of one place
  // has one copy and nothing to repair from. Errors: NotFound (no such
  // chunk), Io (reading failed and no copy was checked).
  virtual Result<ChunkCheck> check_copies(const ChunkId& id, bool repair);
  // Whether the store has work for the next commit even though no record
  // changed (a read found a bad copy to rewrite, error counts to record).
  virtual bool wants_commit() { return false; }
  // Forgets anything cached about where chunks are (another process changed the
  // store). A backend without such a cache does nothing.
  virtual void drop_caches() {}

  // Lets go of open read handles (a backend may keep one between reads), so that
  // a commit or checkpoint is not held up by them.
  virtual void release_handles() {}
};

// An in-memory ChunkStore (tests, scratch pools). Thread-safe.
std::unique_ptr<ChunkStore> make_memory_chunk_store();

// A chunk ready to store: its id and its stored form.
struct PreparedChunk {
  ChunkId id{};
  StoredChunk chunk;
};

// Hashes `raw` (SHA-256: the id), compresses it per `spec` with early abort and
// checksums the stored bytes. Touches no store, so it runs on any thread.
// REQUIRES: raw.size() < 4 GiB.
PreparedChunk prepare_chunk(const CompressionSpec& spec, std::string_view raw);

// Puts a prepared chunk (where `placement` says) unless its id is stored
// already (dedup); returns the id.
Result<ChunkId> store_prepared(ChunkStore& store, const PreparedChunk& prepared, const Placement& placement = {});

// prepare_chunk then store_prepared. Errors: ArgTooBig (over 4 GiB), and those of put.
Result<ChunkId> store_chunk(ChunkStore& store, const CompressionSpec& spec, std::string_view raw);

// As load_chunk, into `out` when it is exactly the chunk's raw size (saving an
// allocation and a copy); returns false, having done nothing, when it is not.
Result<bool> load_chunk_into(ChunkStore& store, const ChunkId& id, std::span<char> out, bool verify_id = false);

// Checks `chunk` as stored under `id` (the stored bytes' XXH3 and, with
// verify_id, the SHA-256 of the decoded bytes against the id) and decodes it.
// Errors: Corrupt naming the chunk.
Result<std::string> decode_chunk(const ChunkId& id, StoredChunk chunk, bool verify_id);
// Gets `id`, checks the stored bytes' XXH3 (and, with verify_id, the SHA-256 of
// the result against the id) and decodes. Never returns wrong bytes.
// Errors: NotFound; Corrupt naming the chunk ("chunk 3fa2…: checksum mismatch").
Result<std::string> load_chunk(ChunkStore& store, const ChunkId& id, bool verify_id = false);

}  // namespace anyfs

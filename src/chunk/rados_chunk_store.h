// The RADOS ChunkStore (issue 19): chunks as objects of a Ceph RADOS pool,
// named by the hex of their id, in a namespace per AnyFS pool (so that one
// RADOS pool can hold several). An object is a 20-byte header (magic "ANYC",
// format 1, codec, raw size, the XXH3-64 of the stored bytes; docs/FORMAT.md)
// followed by the stored bytes, made exclusively and written whole in one
// operation (a reader sees no object or the whole one; an id stored already
// keeps its first copy). Puts are asynchronous and in flight in
// parallel; make_durable waits for every one to be acknowledged by the OSDs
// before the records naming them commit (DESIGN.md §4, rule 1).
//
// A removal is not a deletion (rule 2): the chunk is gone for this store at
// once (has, get and list no longer see it), but its object stays in RADOS
// until the records' transaction committed (`committed()`) and the grace
// period passed, so that a reader whose snapshot of the records is older
// still reads it; then `still_named` (the records: is the chunk named again,
// or was the removal rolled back?) has the last word. A chunk put again
// before its deletion is kept. Deletions due when the store closes are done
// then; the rest are left for gc, whose sweep_unnamed deletes every object
// of the namespace that `still_named` says no record names (rule 3).
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "chunk/chunk_store.h"

namespace anyfs {

struct RadosOptions {
  std::string conf_path;  // a ceph.conf (monitors, auth); "" = CEPH_CONF / the default
  std::string pool;       // the RADOS pool
  std::string ns;         // the namespace inside it ("" = the default one)
  std::string client = "client.admin";
  int timeout_s = 30;     // for connecting and for each operation
  // How long a removed chunk's object stays after the removal committed.
  std::chrono::milliseconds delete_grace{5000};
  // Asked before an object is deleted: true keeps it. Unset: deleted.
  std::function<Result<bool>(const ChunkId&)> still_named = nullptr;
};

// Connects. Errors: Io naming the cluster and pool with librados's reason,
// NotFound (no such RADOS pool).
Result<std::unique_ptr<ChunkStore>> open_rados_chunk_store(const RadosOptions& options);

}  // namespace anyfs

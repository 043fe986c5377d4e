// What the volume operations of a pool share (pool/pool_volumes.cc,
// pool/scrub.cc): the pool's health, naming chunks by the files that use
// them, and the small "key=value;..." records they keep in the settings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anyfs/volumes.h"
#include "chunk/hash.h"
#include "pool/pool_core.h"

namespace anyfs {

// Why the pool is not ONLINE ("" when it is): the volumes it cannot use and
// what that costs. `without_copy`: chunks no usable volume holds.
Result<std::string> degraded_reason(PoolCore& core, std::uint64_t& without_copy) REQUIRES(pool_lock);
// Whether a pool in that state must not be written: chunks without a copy,
// or a placement that can no longer be met.
bool degraded_needs_read_only(std::string_view reason);

// Where chunks are used: "DATASET:/path" for each live file naming one (the
// root dataset's as "/path"), "chunk HEX (held only by history or
// snapshots)" for one no live file names. Sorted, each once.
Result<std::vector<std::string>> name_chunks(PoolCore& core, const std::vector<ChunkId>& ids) REQUIRES(pool_lock);

// The scrub under way or last done, as the pool keeps it (none: never scrubbed).
Result<std::optional<ScrubReport>> scrub_record(PoolCore& core) REQUIRES(pool_lock);

// "a=1;b=2" → {{"a","1"},{"b","2"}}.
std::vector<std::pair<std::string, std::string>> parse_fields(std::string_view text);

}  // namespace anyfs

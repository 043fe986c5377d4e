#!/usr/bin/env bash
# Mutation check: plants known bugs one at a time in a scratch copy of the tree
# and confirms the test suite catches each (a suite that stays green on a
# planted bug is not testing that behaviour). Not part of CI: it rebuilds once
# per mutation. Usage: tests/mutation/run_mutations.sh [NAME...]
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git -C "$top" ls-files -z | (cd "$top" && xargs -0 cp --parents -t "$scratch")
cmake -S "$scratch" -B "$scratch/build" -G Ninja -DANYFS_BUILD_BENCH=OFF >/dev/null

# name @@ file @@ sed expression @@ ctest -R filter
mutations=(
  "rename-does-not-replace@@src/memory/memory_fs.cc@@s/^    detach(dst_parent, dst_name);/    return fail(Errc::Exists, std::string(to));/@@MemoryFs"
  "dotdot-climbs-in-hostfs@@src/host/host_fs.cc@@s/RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS/RESOLVE_NO_MAGICLINKS/@@HostFs"
  "hostfs-runs-unconfined@@src/host/host_fs.cc@@s/if (errno == ENOSYS)/if (false)/@@WithoutOpenat2"
  "no-symlink-hop-limit@@src/fs/resolve.h@@s/if (++hops > k_max_symlink_hops)/if (++hops > 1000000)/@@Loop|Forty"
  "overlay-forgets-whiteouts@@src/layers/overlay.cc@@s/ANYFS_CHECK(upper_->write_file(whiteout_of(c), \"\", 0));/;/@@Overlay"
  "filter-ignores-symlinks@@src/layers/mapping_fs.cc@@s/ANYFS_CHECK(as_caller(check(r->path), p));/ANYFS_CHECK(as_caller(check(path::normalize(p)), p));/@@PathFilter"
  "mapping-without-lock@@src/layers/mapping_fs.h@@s/std::shared_mutex names_mu_;/struct { void lock() {} void unlock() {} void lock_shared() {} void unlock_shared() {} } names_mu_;/@@Swaps.*Subdir"
  "nlink-not-updated-on-rename@@src/memory/memory_fs.cc@@s/    dst_parent->nlink++;\$/    ;/@@MemoryFs"
  "chunk-checksum-unchecked@@src/chunk/chunk_store.cc@@s/if (xxh3(chunk.stored) != chunk.checksum)/if (false)/@@ChunkStore"
  "pool-sync-does-not-commit@@src/pool/pool.cc@@/PoolImpl::sync()/,/^}/ s/return core_->commit();/return {};/@@CrashTest"
  "refcount-never-dropped@@src/meta/sqlite_meta_store.cc@@s/pending_refs_\[chunk\] -= 1;/pending_refs_[chunk] -= 0;/@@PoolTest"
  "overwrite-loses-extent-tail@@src/pool/dataset.cc@@s/if (e.end() > to) {/if (false) {/@@Pool"
  "prune-ignores-snapshots@@src/meta/sqlite_history_store.cc@@s/\*it < r.tid_to) continue;/false) continue;/@@HistoryTest|CrashTest"
  "closed-rows-never-kept@@src/meta/sqlite_meta_store.cc@@s/: std::min(it->second, txg_floor_);/: 0 * std::min(it->second, txg_floor_);/@@HistoryTest"
  "rollback-revives-nothing@@src/meta/sqlite_history_store.cc@@s/revive.bind(1, ds).bind(2, to)/revive.bind(1, ds).bind(2, 0)/@@HistoryTest"
  "as-of-ignores-birth@@src/meta/sqlite_meta_store.cc@@s/parent = ?2 AND tid_to > ?3 AND +tid_from <= ?3 \"/parent = ?2 AND tid_to > ?3 \"/@@PoolViewOfThePast|HistoryTest"
  "txg-ends-not-recorded@@src/pool/pool_core.cc@@s/if (last_tid != committed_tid) ANYFS_CHECK(history->record_txg/if (false) ANYFS_CHECK(history->record_txg/@@HistoryTest"
  "clone-takes-over-without-extents@@src/pool/dataset.cc@@s/^      ANYFS_CHECK(core_->meta->put_extent(id_, e, tid));\$/      (void)e;/@@HistoryTest"
  "setgid-not-passed-on@@src/pool/dataset.cc@@s/if (parent->rec.mode & S_ISGID) {/if (false) {/@@SetGroupId"
  "snapdir-always-listed@@src/fuse/server.cc@@s/if (options_.snapdir_visible) {/if (true) {/@@MountTest"
  "snapshot-mkdir-takes-nothing@@src/fuse/server.cc@@s/ANYFS_TRY(pool_->snapshot(dataset_->name(), name));/;/@@MountTest"
  "rename-loops-unchecked@@src/pool/dataset.cc@@s/if (ancestor == dir) return true;/if (true) return false;/@@InodeFs"
  "clone-range-keeps-old-extents@@src/pool/dataset.cc@@s/ANYFS_CHECK(punch(\*target, to_offset, to_offset + length, tid));/;/@@InodeFs|MountTest"
  "append-ignores-end@@src/memory/memory_fs.cc@@s/if (has(flags_, OpenFlags::Append)) offset = node_->data.size();/;/@@MemoryFs"
  "page-checksums-not-checked-on-mapped-reads@@src/util/page_checksum_vfs.cc@@s/if (is_page(f, amt, off) \&\& !check_mapped(f, \*out, off)) {/if (false) {/@@EveryFlippedBit"
  "mapped-page-trusted-forever@@src/util/page_checksum_vfs.cc@@s/seen\[index\] == now) return true;/seen[index] != 0) return true;/@@UnderTheMemoryMap"
  "storage-failure-forgotten@@src/util/sqlite.cc@@s/if (!storage_failure_) storage_failure_ = e;/;/@@FaultSweep"
  "compact-adds-no-checksums@@src/pool/maintenance.cc@@s/int reserve = sql::k_page_checksum_bytes;/int reserve = 0;/@@PageChecksum|CompactAdding"
  "page-checksums-not-scanned-by-verify@@src/pool/maintenance.cc@@s/for (std::uint32_t page : pages.bad)/for (std::uint32_t page : std::vector<std::uint32_t>{})/@@EveryFlippedBit"
  "decode-trusts-the-claimed-size@@src/chunk/codec.cc@@s/ANYFS_CHECK(check_raw_size(codec, stored, raw_size));/;/@@CodecBounds"
  "as-of-time-overflows@@src/pool/location.cc@@s/if (secs > k_limit || secs < -k_limit)/if (false)/@@ParseAsOf"
)

caught=0; missed=0
for m in "${mutations[@]}"; do
  name=${m%%@@*}; rest=${m#*@@}
  file=${rest%%@@*}; rest=${rest#*@@}
  expr=${rest%%@@*}; filter=${rest#*@@}
  [ $# -gt 0 ] && [[ " $* " != *" $name "* ]] && continue
  cp "$top/$file" "$scratch/$file"
  sed -i "$expr" "$scratch/$file"
  if cmp -s "$top/$file" "$scratch/$file"; then
    echo "SKIP $name: the expression no longer matches $file"; missed=$((missed + 1)); continue
  fi
  if ! ninja -C "$scratch/build" >/dev/null 2>&1; then
    echo "SKIP $name: does not build"; missed=$((missed + 1))
  elif (cd "$scratch/build" && ctest -j "$(nproc)" -R "$filter" >/dev/null 2>&1); then
    echo "MISSED $name: tests matching '$filter' still pass"; missed=$((missed + 1))
  else
    failing=$(cd "$scratch/build" && ctest -j "$(nproc)" -R "$filter" 2>/dev/null | grep -c '\*\*\*Failed')
    echo "CAUGHT $name: $failing tests fail"; caught=$((caught + 1))
  fi
  cp "$top/$file" "$scratch/$file"
done
echo "mutations: $caught caught, $missed missed"
[ "$missed" -eq 0 ]

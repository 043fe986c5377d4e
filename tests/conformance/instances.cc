// Every Fs runs the conformance and differential suites: one line each.
#include <atomic>
#include <filesystem>

#include "anyfs/host_fs.h"
#include "anyfs/layers/metrics.h"
#include "anyfs/layers/overlay.h"
#include "anyfs/layers/path_filter.h"
#include "anyfs/layers/rate_limit.h"
#include "anyfs/layers/read_only.h"
#include "anyfs/layers/subdir.h"
#include "anyfs/layers/tracing.h"
#include "anyfs/memory_fs.h"
#include "anyfs/mount.h"
#include "anyfs/pool.h"
#include "conformance/fs_conformance.h"
#include "conformance/newest_state_fs.h"
#include "support/must.h"

namespace anyfs::testing {
namespace {

// Counts events so the tracing layer does real work without flooding the log.
class CountingSink final : public TraceSink {
 public:
  void record(const TraceEvent& event) override { bytes_ += event.to_json().size(); }
  std::atomic<std::uint64_t> bytes_{0};
};

// A jail inside a larger tree whose outside holds "OUTSIDE" markers.
std::shared_ptr<Fs> jailed(std::shared_ptr<Fs> outer) {
  (void)outer->write_file("/f", "OUTSIDE");
  (void)outer->write_file("/secret", "OUTSIDE");
  (void)outer->mkdirs("/srv/jail");
  return must(make_subdir(outer, "/srv/jail"));
}

PathFilterOptions hiding_rules() {
  return {{{FilterAction::Deny, "/.hidden"}, {FilterAction::Deny, "*.secret"}}, FilterAction::Allow, Errc::NotFound};
}

RateLimitOptions generous_limits() { return {1e9, 1e12, 1.0, RateLimitOptions::OnLimit::Wait}; }

const FsFactory k_memory{"MemoryFs", [](const std::string&) { return Subject{make_memory_fs(), nullptr}; }};
const FsFactory k_host{"HostFs", [](const std::string& dir) { return Subject{must(open_host_fs(dir)), nullptr}; }};

// The root dataset of a fresh pool (single-file, or with `volumes` volume
// files); the Fs handed out keeps the pool open.
std::shared_ptr<Fs> pool_root(const std::string& dir, std::vector<std::pair<std::string, std::string>> props,
                              int volumes = 0) {
  struct Held {
    std::shared_ptr<Pool> pool;
    std::shared_ptr<Dataset> root;
  };
  auto held = std::make_shared<Held>();
  PoolCreateOptions options{.properties = std::move(props)};
  for (int v = 0; v < volumes; ++v) options.volumes.push_back({dir + "/test.v" + std::to_string(v), 0});
  held->pool = must(Pool::create(dir + "/test.anyfs", options));
  held->root = must(held->pool->dataset());
  return std::shared_ptr<Fs>(held, held->root.get());
}
const FsFactory k_pool{"Pool", [](const std::string& dir) { return Subject{pool_root(dir, {}), nullptr}; }};
// Tiny chunks, zstd and sync=always: many extents per file, every op committed.
const FsFactory k_pool_small_chunks{"PoolSmallChunksSyncAlways", [](const std::string& dir) {
                                      return Subject{pool_root(dir, {{"recordsize", "4K"},
                                                                     {"compression", "zstd-1"},
                                                                     {"sync", "always"}}),
                                                     nullptr};
                                    }};

// Three volume files, every chunk on two of them (small chunks: a file spans
// all three), sync=always so every call reaches the volumes' commits.
const FsFactory k_pool_mirrored_volumes{"PoolOfThreeMirroredVolumes", [](const std::string& dir) {
                                          return Subject{pool_root(dir,
                                                                   {{"placement", "mirror=2"},
                                                                    {"recordsize", "4K"},
                                                                    {"sync", "always"}},
                                                                   3),
                                                         nullptr};
                                        }};

// Three volume files, each chunk on one of them by its id (small chunks:
// a file spans all three).
const FsFactory k_pool_striped_volumes{"PoolOfThreeStripedVolumes", [](const std::string& dir) {
                                         return Subject{pool_root(dir, {{"placement", "stripe"}, {"recordsize", "4K"}}, 3),
                                                        nullptr};
                                       }};

// A view of the past (history=all): the seed writes the live dataset, the
// subject reads the state just committed.
const FsFactory k_pool_past{"PoolViewOfThePast",
                            [](const std::string& dir) {
                              auto pool =
                                  must(Pool::create(dir + "/test.anyfs", {.properties = {{"history", "all"}}}));
                              std::shared_ptr<Fs> live = must(pool->dataset());
                              return Subject{std::make_shared<NewestStateFs>(pool), live};
                            },
                            false};

// A pool's root dataset mounted with FUSE (served by this process) and used
// through the kernel, as programs use it: HostFs over the mountpoint.
std::string fuse_unavailable() {
  auto r = fuse_available();
  return r ? "" : "no FUSE here: " + r.error().to_string();
}
Subject mounted_pool(const std::string& dir) {
  struct Held {
    std::shared_ptr<Pool> pool;
    std::shared_ptr<Dataset> dataset;
    std::unique_ptr<Mount> mount;
    std::shared_ptr<Fs> host;
    ~Held() {
      host.reset();
      if (mount) (void)mount->stop();
    }
  };
  auto held = std::make_shared<Held>();
  held->pool = must(Pool::create(dir + "/test.anyfs"));
  held->dataset = must(held->pool->dataset());
  std::filesystem::create_directories(dir + "/mnt");
  held->mount = must(Mount::start(held->pool, held->dataset, dir + "/mnt"));
  held->host = must(open_host_fs(dir + "/mnt"));
  return Subject{std::shared_ptr<Fs>(held, held->host.get()), nullptr};
}
const FsFactory k_mounted_pool{"MountedPool", mounted_pool, true, fuse_unavailable};

const FsFactory k_read_only{"ReadOnly",
                            [](const std::string&) {
                              auto mem = make_memory_fs();
                              return Subject{make_read_only(mem), mem};
                            },
                            false};
const FsFactory k_path_filter{"PathFilter", [](const std::string&) {
                                return Subject{must(make_path_filter(make_memory_fs(), hiding_rules())), nullptr};
                              }};
const FsFactory k_subdir{"Subdir", [](const std::string&) { return Subject{jailed(make_memory_fs()), nullptr}; }};
const FsFactory k_subdir_host{"SubdirOverHostFs", [](const std::string& dir) {
                                return Subject{jailed(must(open_host_fs(dir))), nullptr};
                              }};
const FsFactory k_rate_limit{"RateLimit", [](const std::string&) {
                               return Subject{must(make_rate_limit(make_memory_fs(), generous_limits())), nullptr};
                             }};
const FsFactory k_tracing{"Tracing", [](const std::string&) {
                            return Subject{make_tracing(make_memory_fs(), std::make_shared<CountingSink>()), nullptr};
                          }};
const FsFactory k_metrics{"Metrics", [](const std::string&) {
                            return Subject{make_metrics(make_memory_fs(), std::make_shared<FsMetrics>()), nullptr};
                          }};
const FsFactory k_overlay{"Overlay", [](const std::string&) {
                            auto lower = make_memory_fs();
                            return Subject{make_overlay(make_memory_fs(), lower), lower};
                          }};
const FsFactory k_overlay_host{"OverlayHostOverMemory", [](const std::string& dir) {
                                 auto lower = make_memory_fs();
                                 return Subject{make_overlay(must(open_host_fs(dir)), lower), lower};
                               }};
// Five layers stacked: what a real deployment might run.
const FsFactory k_stack{"FiveLayerStack", [](const std::string&) {
                          auto lower = make_memory_fs();
                          std::shared_ptr<Fs> fs = make_overlay(make_memory_fs(), lower);
                          fs = must(make_path_filter(fs, hiding_rules()));
                          fs = must(make_rate_limit(fs, generous_limits()));
                          fs = make_metrics(fs, std::make_shared<FsMetrics>());
                          fs = make_tracing(fs, std::make_shared<CountingSink>());
                          return Subject{fs, lower};
                        }};

// The same kinds of layers in the opposite order: path layers above call layers.
const FsFactory k_reversed_stack{"ReversedStack", [](const std::string&) {
                                   auto lower = make_memory_fs();
                                   std::shared_ptr<Fs> fs = make_overlay(make_memory_fs(), lower);
                                   fs = make_tracing(fs, std::make_shared<CountingSink>());
                                   fs = make_metrics(fs, std::make_shared<FsMetrics>());
                                   fs = must(make_rate_limit(fs, generous_limits()));
                                   fs = must(make_path_filter(fs, hiding_rules()));
                                   return Subject{fs, lower};
                                 }};

}  // namespace

ANYFS_CONFORMANCE(Base, k_memory, k_host);
ANYFS_CONFORMANCE(Pools, k_pool, k_pool_small_chunks, k_pool_past, k_pool_mirrored_volumes,
                  k_pool_striped_volumes);
ANYFS_CONFORMANCE(Mounts, k_mounted_pool);
ANYFS_CONFORMANCE(Layers, k_read_only, k_path_filter, k_subdir, k_subdir_host, k_rate_limit, k_tracing, k_metrics,
                  k_overlay, k_overlay_host, k_stack, k_reversed_stack);

}  // namespace anyfs::testing

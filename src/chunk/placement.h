// Where a new chunk goes in a pool of volumes (DESIGN.md §6): `linear` fills
// the volumes in order, `stripe` spreads chunks by their id, `mirror=N`
// keeps N copies on different volumes. A dataset property (`placement`);
// it applies to what is written next.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"
#include "chunk/hash.h"

namespace anyfs {

struct Placement {
  enum class Kind { Linear, Stripe, Mirror };
  Kind kind = Kind::Linear;
  unsigned copies = 1;  // Mirror: 2..8

  // "linear", "stripe" or "mirror=N" (N 2..8); nullopt otherwise.
  static std::optional<Placement> parse(std::string_view text);
  std::string to_string() const;
  friend bool operator==(const Placement&, const Placement&) = default;
};

// What placement needs to know of a volume.
struct VolumeRoom {
  bool usable = true;  // open, writable, not being drained
  bool full = false;   // at its cap
};

// The volumes (indices into `volumes`) that take a new chunk `id`, the first
// of them its primary copy. Linear: the first usable volume not full. Stripe:
// one chosen by the id among the usable ones not full. Mirror=N: N different
// ones, starting at the one the id chooses. Errors: NoSpace when too few
// volumes can take it (naming how many it needs and how many can).
Result<std::vector<std::size_t>> place(const ChunkId& id, const Placement& placement,
                                       const std::vector<VolumeRoom>& volumes);

}  // namespace anyfs

#include "chunk/placement.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace anyfs {

std::optional<Placement> Placement::parse(std::string_view text) {
  if (text == "linear") return Placement{Kind::Linear, 1};
  if (text == "stripe") return Placement{Kind::Stripe, 1};
  constexpr std::string_view k_mirror = "mirror=";
  if (text.starts_with(k_mirror)) {
    text.remove_prefix(k_mirror.size());
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size() && n >= 2 && n <= 8) return Placement{Kind::Mirror, n};
  }
  return std::nullopt;
}

std::string Placement::to_string() const {
  switch (kind) {
    case Kind::Linear: return "linear";
    case Kind::Stripe: return "stripe";
    case Kind::Mirror: return fmt::format("mirror={}", copies);
  }
  return "linear";
}

Result<std::vector<std::size_t>> place(const ChunkId& id, const Placement& placement,
                                       const std::vector<VolumeRoom>& volumes) {
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < volumes.size(); ++i)
    if (volumes[i].usable && !volumes[i].full) open.push_back(i);
  const std::size_t need = placement.kind == Placement::Kind::Mirror ? placement.copies : 1;
  if (open.size() < need)
    return fail(Errc::NoSpace, "",
                fmt::format("placement {} needs {} volume{} with room, {} {}", placement.to_string(), need,
                            need == 1 ? "" : "s", open.size(), open.size() == 1 ? "has" : "have"));
  if (placement.kind == Placement::Kind::Linear) return std::vector<std::size_t>{open.front()};
  // The id is a SHA-256: any 8 of its bytes are uniform.
  std::uint64_t h = 0;
  std::memcpy(&h, id.data(), sizeof h);
  const std::size_t first = static_cast<std::size_t>(h % open.size());
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < need; ++k) out.push_back(open[(first + k) % open.size()]);
  return out;
}

}  // namespace anyfs

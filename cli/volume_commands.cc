// volume add|list: the volume files of a pool (docs/CLI.md, "Volumes").
#include <fmt/format.h>

#include <cctype>

#include "context.h"
#include "format.h"

namespace anyfs::cli {

Result<VolumeSpec> parse_volume_spec(const std::string& text) {
  VolumeSpec spec{text, 0};
  const auto colon = text.rfind(':');
  if (colon != std::string::npos && colon + 1 < text.size()) {
    const std::string size = text.substr(colon + 1);
    std::size_t digits = 0;
    while (digits < size.size() && std::isdigit(static_cast<unsigned char>(size[digits]))) ++digits;
    std::string unit = size.substr(digits);
    for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
    else if (unit.size() > 1 && unit.ends_with("B")) unit.pop_back();
    const std::string units = "KMGTP";
    const bool is_size = digits > 0 && digits <= 15 && (unit.empty() || (unit.size() == 1 && units.find(unit[0]) != std::string::npos));
    if (is_size) {
      std::uint64_t bytes = std::stoull(size.substr(0, digits));
      if (!unit.empty())
        for (std::size_t k = 0; k <= units.find(unit[0]); ++k) bytes *= 1024;
      if (bytes < (1u << 20))
        return fail(Errc::InvalidArgument, text, "a volume's size must be at least 1M (or none: it grows as it needs)");
      spec.path = text.substr(0, colon);
      spec.cap_bytes = bytes;
    }
  }
  if (spec.path.empty()) return fail(Errc::InvalidArgument, text, "a volume needs a path: PATH[:SIZE]");
  return spec;
}

namespace {

nlohmann::json volume_json(const VolumeStatus& v) {
  return {{"uuid", v.uuid},
          {"path", v.path},
          {"cap_bytes", v.cap_bytes},
          {"size_bytes", v.size_bytes},
          {"chunks", v.chunks}};
}

std::function<int(Context&)> setup_volume(CLI::App& app) {
  auto action = std::make_shared<std::string>();
  auto args = std::make_shared<std::vector<std::string>>();
  app.add_option("action", *action,
                 "add PATH[:SIZE]... (new volume files; SIZE caps one, e.g. 10G) | list")
      ->required()
      ->check(CLI::IsMember({"add", "list"}));
  app.add_option("args", *args, "PATH[:SIZE] of each volume to add");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      if (*action == "add") {
        if (args->empty()) return fail(Errc::InvalidArgument, "", "volume add PATH[:SIZE]...");
        std::vector<VolumeSpec> specs;
        for (const auto& a : *args) specs.push_back(ANYFS_TRY(parse_volume_spec(a)));
        nlohmann::json out = nlohmann::json::array();
        std::string human;
        for (const auto& spec : specs) {
          const VolumeStatus added = ANYFS_TRY(pool.add_volume(spec));
          out.push_back(volume_json(added));
          human += fmt::format("added volume {} ({}){}\n", added.path, added.uuid,
                               added.cap_bytes ? ", capped at " + human_bytes(added.cap_bytes) : "");
        }
        if (!human.empty()) human.pop_back();
        ctx.print(out, human);
        return {};
      }
      if (!args->empty()) return fail(Errc::InvalidArgument, args->front(), "volume list takes no arguments");
      nlohmann::json out = nlohmann::json::array();
      const auto volumes = ANYFS_TRY(pool.volumes());
      std::string human = volumes.empty() ? "no volumes: a single-file pool (chunks in the pool file)"
                                          : fmt::format("{:<4} {:>10} {:>10} {:>9}  {}\n", "#", "size", "cap",
                                                        "chunks", "path");
      for (std::size_t i = 0; i < volumes.size(); ++i) {
        const auto& v = volumes[i];
        out.push_back(volume_json(v));
        human += fmt::format("{:<4} {:>10} {:>10} {:>9}  {}\n", i + 1, human_bytes(v.size_bytes),
                             v.cap_bytes ? human_bytes(v.cap_bytes) : "-", v.chunks, v.path);
      }
      if (!volumes.empty()) human.pop_back();
      ctx.print(out, human);
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& volume_commands() {
  static const std::vector<Command> k_commands = {
      {"volume", "The pool's volume files: volume add PATH[:SIZE]... | volume list", Access::Write, setup_volume},
  };
  return k_commands;
}

}  // namespace anyfs::cli

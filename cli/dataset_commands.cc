// dataset create|destroy|rename and datasets (list) (docs/CLI.md, "Datasets").
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "context.h"
#include "pool/location.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

std::string show(const std::string& name) { return name.empty() ? "(root)" : name; }

// The table of datasets (for `datasets` and `dataset list`).
Result<void> list_datasets(Context& ctx, Pool& pool) {
  nlohmann::json out = nlohmann::json::array();
  std::string human = fmt::format("{:<30} {:>10} {:>9} {:<14} {}\n", "DATASET", "CREATED", "SNAPSHOTS",
                                  "HISTORY FROM", "ORIGIN");
  for (const auto& d : ANYFS_TRY(pool.dataset_list())) {
    nlohmann::json j = {{"name", d.name},           {"created_tid", d.created_tid}, {"snapshots", d.snapshots},
                        {"origin", d.origin},       {"history", ANYFS_TRY(pool.get_property(d.name, "history"))}};
    j["history_from"] = d.history_from ? nlohmann::json(*d.history_from) : nlohmann::json(nullptr);
    out.push_back(std::move(j));
    human += fmt::format("{:<30} {:>10} {:>9} {:<14} {}\n", show(d.name), d.created_tid, d.snapshots,
                         d.history_from ? fmt::format("TID {}", *d.history_from) : "-", d.origin);
  }
  ctx.print(out, human);
  return {};
}

Runner setup_dataset(CLI::App& app) {
  auto action = std::make_shared<std::string>();
  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<std::vector<std::string>>();
  auto recursive = std::make_shared<bool>(false);
  app.add_option("action", *action, "create NAME | destroy NAME | rename OLD NEW | list")
      ->required()
      ->check(CLI::IsMember({"create", "destroy", "rename", "list"}));
  app.add_option("args", *args, "Dataset names (hierarchical: projects/web)");
  app.add_option("-o", *options, "create: a property NAME=VALUE (repeatable); others are inherited");
  app.add_flag("-r,--recursive", *recursive, "destroy: also child datasets, snapshots and bookmarks");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      // `list` opens the pool for writing like every `dataset` action; `datasets` reads beside a writer.
      if (*action == "list") return list_datasets(ctx, pool);
      const std::size_t want = *action == "rename" ? 2 : 1;
      if (args->size() != want)
        return fail(Errc::InvalidArgument, "", "dataset create NAME | destroy [-r] NAME | rename OLD NEW | list");
      if (*action == "create") {
        std::vector<std::pair<std::string, std::string>> props;
        for (const auto& o : *options) {
          auto eq = o.find('=');
          if (eq == std::string::npos) return fail(Errc::InvalidArgument, o, "expected -o NAME=VALUE");
          props.emplace_back(o.substr(0, eq), o.substr(eq + 1));
        }
        ANYFS_CHECK(pool.create_dataset(args->at(0), props));
      } else if (*action == "destroy") {
        ANYFS_CHECK(pool.destroy_dataset(args->at(0), *recursive));
      } else {
        ANYFS_CHECK(pool.rename_dataset(args->at(0), args->at(1)));
      }
      ctx.print({{"action", *action}, {"datasets", *args}}, "");
      return {};
    });
  };
}

Runner setup_datasets(CLI::App&) {
  return [](Context& ctx) { return with_pool(ctx, [&](Pool& pool) { return list_datasets(ctx, pool); }); };
}

}  // namespace

const std::vector<Command>& dataset_commands() {
  static const std::vector<Command> k_commands = {
      {"dataset", "Create, destroy, rename or list datasets: dataset create|destroy|rename|list", Access::Write,
       setup_dataset},
      {"datasets", "List datasets with their snapshots, history and origin", Access::Read, setup_datasets},
  };
  return k_commands;
}

}  // namespace anyfs::cli

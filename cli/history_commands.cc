// The history commands: snapshot, snapshots, destroy, rename, bookmark,
// bookmarks, rollback, diff, history, log, prune (docs/CLI.md, "History").
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "context.h"
#include "format.h"
#include "pool/location.h"

namespace anyfs::cli {
namespace {

using Runner = std::function<int(Context&)>;

std::string spec(std::string_view dataset, std::string_view name, char sep = '@') {
  return fmt::format("{}{}{}", dataset, sep, name);
}

nlohmann::json snapshot_json(const SnapshotInfo& s) {
  return {{"dataset", s.dataset}, {"name", s.name},         {"tid", s.tid},
          {"time_ns", s.time_ns}, {"unique_bytes", s.unique_bytes}, {"guid", s.guid}};
}

nlohmann::json bookmark_json(const BookmarkInfo& b) {
  return {{"dataset", b.dataset}, {"name", b.name}, {"tid", b.tid}, {"time_ns", b.time_ns}, {"guid", b.guid}};
}

// The datasets a listing names, or every dataset.
Result<std::vector<std::string>> chosen_datasets(Pool& pool, const std::vector<std::string>& named) {
  if (!named.empty()) return named;
  return pool.datasets();
}

// A point for diff: [DATASET]@SNAP, or a TID or time as --at takes them (the
// dataset then comes from -d).
struct Point {
  std::optional<std::string> dataset;
  AsOf at;
};
Result<Point> parse_point(std::string_view text) {
  if (text.find('@') != std::string_view::npos) {
    auto s = ANYFS_TRY(parse_snapshot_spec(text));
    return Point{s.dataset, AsOf::at_snapshot(s.name)};
  }
  return Point{std::nullopt, ANYFS_TRY(parse_as_of(text))};
}

Runner setup_snapshot(CLI::App& app) {
  auto specs = std::make_shared<std::vector<std::string>>();
  app.add_option("snapshots", *specs, "[DATASET]@NAME (repeatable); @NAME is the root dataset")->required();
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      nlohmann::json out = nlohmann::json::array();
      std::string human;
      for (const auto& text : *specs) {
        auto s = ANYFS_TRY(parse_snapshot_spec(text));
        auto info = ANYFS_TRY(pool.snapshot(s.dataset, s.name));
        out.push_back(snapshot_json(info));
        human += fmt::format("{} at TID {}\n", spec(info.dataset, info.name), info.tid);
      }
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_snapshots(CLI::App& app) {
  auto dataset = std::make_shared<std::vector<std::string>>();
  app.add_option("dataset", *dataset, "Datasets to list (default: every dataset)");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto names = ANYFS_TRY(chosen_datasets(pool, *dataset));
      nlohmann::json out = nlohmann::json::array();
      std::string human = fmt::format("{:<30} {:>10} {:<21} {:>10}\n", "SNAPSHOT", "TID", "TAKEN", "UNIQUE");
      for (const auto& name : names)
        for (const auto& s : ANYFS_TRY(pool.snapshots(name))) {
          out.push_back(snapshot_json(s));
          human += fmt::format("{:<30} {:>10} {:<21} {:>10}\n", spec(s.dataset, s.name), s.tid, human_time(s.time_ns),
                               human_bytes(s.unique_bytes));
        }
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_destroy(CLI::App& app) {
  auto targets = std::make_shared<std::vector<std::string>>();
  app.add_option("targets", *targets, "DATASET@SNAP or DATASET#BOOKMARK (repeatable; datasets: `dataset destroy`)")
      ->required();
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      for (const auto& text : *targets) {
        if (auto hash = text.find('#'); hash != std::string::npos) {
          std::string ds = text.substr(0, hash);
          if (!ds.empty()) ANYFS_CHECK(check_dataset_name(ds));
          ANYFS_CHECK(pool.destroy_bookmark(ds, text.substr(hash + 1)));
          continue;
        }
        if (text.find('@') == std::string::npos)
          return fail(Errc::InvalidArgument, text,
                      "expected DATASET@SNAP or DATASET#BOOKMARK; to destroy a dataset use `anyfs dataset destroy`");
        auto s = ANYFS_TRY(parse_snapshot_spec(text));
        ANYFS_CHECK(pool.destroy_snapshot(s.dataset, s.name));
      }
      ctx.print({{"destroyed", *targets}}, "");
      return {};
    });
  };
}

Runner setup_rename(CLI::App& app) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  app.add_option("from", *from, "DATASET@SNAP")->required();
  app.add_option("to", *to, "NEWNAME or DATASET@NEWNAME (same dataset)")->required();
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto s = ANYFS_TRY(parse_snapshot_spec(*from));
      std::string name = *to;
      if (auto at = to->find('@'); at != std::string::npos) {
        auto t = ANYFS_TRY(parse_snapshot_spec(*to));
        if (t.dataset != s.dataset)
          return fail(Errc::InvalidArgument, *to, "a snapshot cannot move to another dataset");
        name = t.name;
      }
      ANYFS_CHECK(pool.rename_snapshot(s.dataset, s.name, name));
      ctx.print({{"from", *from}, {"to", spec(s.dataset, name)}}, "");
      return {};
    });
  };
}

Runner setup_bookmark(CLI::App& app) {
  auto snap = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  app.add_option("snapshot", *snap, "DATASET@SNAP to bookmark")->required();
  app.add_option("name", *name, "Bookmark name (or DATASET#NAME)")->required();
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto s = ANYFS_TRY(parse_snapshot_spec(*snap));
      std::string bm = name->substr(name->find('#') == std::string::npos ? 0 : name->find('#') + 1);
      auto b = ANYFS_TRY(pool.bookmark(s.dataset, s.name, bm));
      ctx.print(bookmark_json(b), fmt::format("{} at TID {}", spec(b.dataset, b.name, '#'), b.tid));
      return {};
    });
  };
}

Runner setup_bookmarks(CLI::App& app) {
  auto dataset = std::make_shared<std::vector<std::string>>();
  app.add_option("dataset", *dataset, "Datasets to list (default: every dataset)");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto names = ANYFS_TRY(chosen_datasets(pool, *dataset));
      nlohmann::json out = nlohmann::json::array();
      std::string human;
      for (const auto& n : names)
        for (const auto& b : ANYFS_TRY(pool.bookmarks(n))) {
          out.push_back(bookmark_json(b));
          human += fmt::format("{:<30} {:>10} {}\n", spec(b.dataset, b.name, '#'), b.tid, human_time(b.time_ns));
        }
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_rollback(CLI::App& app) {
  auto snap = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  app.add_option("snapshot", *snap, "DATASET@SNAP (or @SNAP) to make the live tree equal to")->required();
  app.add_flag("-f,--force", *force, "Also destroy the snapshots newer than it");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto s = ANYFS_TRY(parse_snapshot_spec(*snap));
      ANYFS_CHECK(pool.rollback(s.dataset, s.name, *force));
      ctx.print({{"rolled_back_to", *snap}}, "");
      return {};
    });
  };
}

Runner setup_clone(CLI::App& app) {
  auto snap = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto options = std::make_shared<std::vector<std::string>>();
  app.add_option("snapshot", *snap, "DATASET@SNAP (or @SNAP) to start from")->required();
  app.add_option("name", *name, "The new dataset (its parent must exist)")->required();
  app.add_option("-o", *options, "A property NAME=VALUE for the clone (repeatable)");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto s = ANYFS_TRY(parse_snapshot_spec(*snap));
      std::vector<std::pair<std::string, std::string>> props;
      for (const auto& o : *options) {
        auto eq = o.find('=');
        if (eq == std::string::npos) return fail(Errc::InvalidArgument, o, "expected -o NAME=VALUE");
        props.emplace_back(o.substr(0, eq), o.substr(eq + 1));
      }
      ANYFS_CHECK(pool.clone(s.dataset, s.name, *name, props));
      ctx.print({{"origin", *snap}, {"clone", *name}}, "");
      return {};
    });
  };
}

Runner setup_promote(CLI::App& app) {
  auto name = std::make_shared<std::string>();
  app.add_option("clone", *name, "The clone to make independent of its origin")->required();
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      ANYFS_CHECK(pool.promote(*name));
      ctx.print({{"promoted", *name}}, "");
      return {};
    });
  };
}

Runner setup_diff(CLI::App& app) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto dataset = std::make_shared<std::string>();
  app.add_option("from", *from, "[DATASET]@SNAP, a TID or a time")->required();
  app.add_option("to", *to, "The same forms (default: the live tree)");
  app.add_option("-d,--dataset", *dataset, "Dataset for TIDs and times (default: the root, or the snapshot's)");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto a = ANYFS_TRY(parse_point(*from));
      std::optional<Point> b;
      if (!to->empty()) b = ANYFS_TRY(parse_point(*to));
      std::string ds = a.dataset.value_or(b && b->dataset ? *b->dataset : *dataset);
      if (b && b->dataset && *b->dataset != ds)
        return fail(Errc::InvalidArgument, *to, "diff compares two states of one dataset");
      auto changes = ANYFS_TRY(pool.diff(ds, a.at, b ? std::optional<AsOf>(b->at) : std::nullopt));
      nlohmann::json out = nlohmann::json::array();
      std::string human;
      for (const auto& c : changes) {
        nlohmann::json j = {{"change", to_string(c.change)}, {"kind", file_kind_name(c.kind)}, {"path", c.path}};
        if (c.change == DiffEntry::Change::Renamed) j["old_path"] = c.old_path;
        out.push_back(std::move(j));
        const char* mark = c.change == DiffEntry::Change::Added     ? "+"
                           : c.change == DiffEntry::Change::Removed ? "-"
                           : c.change == DiffEntry::Change::Renamed ? "R"
                                                                    : "M";
        human += c.change == DiffEntry::Change::Renamed ? fmt::format("{}\t{} -> {}\n", mark, c.old_path, c.path)
                                                        : fmt::format("{}\t{}\n", mark, c.path);
      }
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_history(CLI::App& app) {
  auto location = std::make_shared<std::string>();
  app.add_option("location", *location, "A file: /path, DATASET:/path (found in the live tree, or as of --at)")
      ->required();
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto loc = ANYFS_TRY(parse_location(*location));
      std::optional<AsOf> at;
      if (loc.snapshot) at = AsOf::at_snapshot(*loc.snapshot);
      if (!ctx.as_of_text().empty()) at = ANYFS_TRY(parse_as_of(ctx.as_of_text()));
      auto versions = ANYFS_TRY(pool.file_history(loc.dataset, loc.path, at));
      nlohmann::json out = nlohmann::json::array();
      std::string human = fmt::format("{:>10} {:<21} {:>12} {:<21} {}\n", "TID", "COMMITTED", "SIZE", "MODIFIED", "");
      for (const auto& v : versions) {
        out.push_back({{"tid", v.tid},
                       {"time_ns", v.time_ns},
                       {"until_tid", v.until_tid},
                       {"kind", file_kind_name(v.kind)},
                       {"size", v.size},
                       {"mtime_ns", v.mtime_ns},
                       {"mode", v.mode}});
        human += fmt::format("{:>10} {:<21} {:>12} {:<21} {}\n", v.tid, human_time(v.time_ns), v.size,
                             human_time(v.mtime_ns), v.until_tid == 0 ? "live" : "");
      }
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_log(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto dataset = std::make_shared<std::string>();
  auto since = std::make_shared<std::string>();
  auto until = std::make_shared<std::string>();
  auto limit = std::make_shared<std::size_t>(50);
  app.add_option("path", *path, "Only operations on this path or below it");
  CLI::Option* dataset_option =
      app.add_option("-d,--dataset", *dataset, "Only this dataset (\"\" for the root dataset)");
  app.add_option("--since", *since, "Only from this time on (2026-11-22T10:00:00Z, @UNIXSECONDS)");
  app.add_option("--until", *until, "Only up to this time");
  app.add_option("-n,--limit", *limit, "At most this many, newest first (default 50)");
  return [=](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      LogQuery q;
      q.path = *path;
      q.limit = *limit;
      if (dataset_option->count() != 0) {
        if (!dataset->empty()) ANYFS_CHECK(check_dataset_name(*dataset));
        q.dataset = *dataset;
      }
      for (auto [text, field] : {std::pair{since.get(), &q.since_ns}, std::pair{until.get(), &q.until_ns}}) {
        if (text->empty()) continue;
        auto t = ANYFS_TRY(parse_as_of(*text));
        if (!t.time_ns) return fail(Errc::InvalidArgument, *text, "expected a time, not a TID");
        *field = *t.time_ns;
      }
      nlohmann::json out = nlohmann::json::array();
      std::string human;
      for (const auto& e : ANYFS_TRY(pool.log(q))) {
        out.push_back({{"tid", e.tid}, {"time_ns", e.time_ns}, {"dataset", e.dataset}, {"op", e.op},
                       {"detail", e.detail}});
        human += fmt::format("{:>10} {} {:<16} {}{}\n", e.tid, human_time(e.time_ns), e.op,
                             e.dataset.empty() ? "" : e.dataset + ":", e.detail);
      }
      ctx.print(out, human);
      return {};
    });
  };
}

Runner setup_prune(CLI::App&) {
  return [](Context& ctx) {
    return with_pool(ctx, [&](Pool& pool) -> Result<void> {
      auto r = ANYFS_TRY(pool.prune());
      ctx.print({{"rows_removed", r.rows_removed}, {"refs_released", r.refs_released}},
                fmt::format("removed {} record versions, released {} chunk references (gc frees the chunks)",
                            r.rows_removed, r.refs_released));
      return {};
    });
  };
}

}  // namespace

const std::vector<Command>& history_commands() {
  static const std::vector<Command> k_commands = {
      {"snapshot", "Take snapshots: snapshot [DATASET]@NAME...", Access::Write, setup_snapshot},
      {"snapshots", "List snapshots, with the bytes each alone holds", Access::Read, setup_snapshots},
      {"destroy", "Destroy snapshots or bookmarks: destroy DATASET@SNAP | DATASET#BOOKMARK...", Access::Write,
       setup_destroy},
      {"rename", "Rename a snapshot: rename DATASET@OLD NEW", Access::Write, setup_rename},
      {"bookmark", "Name a snapshot's TID without holding data: bookmark DATASET@SNAP NAME", Access::Write,
       setup_bookmark},
      {"bookmarks", "List bookmarks", Access::Read, setup_bookmarks},
      {"rollback", "Make a dataset's live tree equal to a snapshot: rollback [-f] DATASET@SNAP", Access::Write,
       setup_rollback},
      {"clone", "A writable dataset starting as a snapshot, sharing all it does not change: clone DATASET@SNAP NAME",
       Access::Write, setup_clone},
      {"promote", "Make a clone independent of its origin's snapshot: promote NAME", Access::Write, setup_promote},
      {"diff", "What changed between two states: diff A [B] (B: the live tree)", Access::Read, setup_diff},
      {"history", "List the kept versions of a file", Access::Read, setup_history},
      {"log", "List transactions, newest first: log [PATH] [--since T] [--until T]", Access::Read, setup_log},
      {"prune", "Remove record versions no snapshot or history window can see", Access::Write, setup_prune},
  };
  return k_commands;
}

}  // namespace anyfs::cli

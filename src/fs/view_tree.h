// Lets the resolver (fs/resolve.h) walk any path-addressed view: something with
// lstat(path) and readlink(path) on canonical paths (no symlinks or ".." in
// them). Layers walk the Fs below them this way; the overlay walks its merged view.
#pragma once

#include <optional>
#include <string>

#include "anyfs/error.h"
#include "anyfs/types.h"
#include "fs/path.h"

namespace anyfs {

template <class View>
struct ViewTree {
  struct Node {
    std::string path;  // the view's canonical path of the object
    FileKind kind;
  };

  View& view;
  std::string root_path = "/";

  Node root() { return {root_path, FileKind::Directory}; }

  Result<std::optional<Node>> lookup(const Node& dir, std::string_view name) {
    std::string p = path::child(dir.path, name);
    auto st = view.lstat(p);
    if (!st) {
      if (st.error().code == Errc::NotFound) return std::optional<Node>();
      return std::unexpected(st.error());
    }
    return std::optional<Node>(Node{std::move(p), st->kind});
  }

  FileKind kind(const Node& node) { return node.kind; }
  Result<std::string> link_target(const Node& node) { return view.readlink(node.path); }
};

}  // namespace anyfs

// Path resolution: the one walk that turns a virtual path into the chain of
// objects it names, following symlinks inside the tree with the 40-hop limit and
// taking ".." physically (to the parent of the directory reached so far, never
// above the root). MemoryFs walks its inodes with it; the path-rewriting layers
// (Subdir, PathFilter, Overlay) walk the Fs below them with it.
//
// A Tree supplies:
//   using Node = ...;                         // a cheap handle to one object
//   Node root();
//   Result<std::optional<Node>> lookup(const Node& dir, std::string_view name);
//   FileKind kind(const Node&);
//   Result<std::string> link_target(const Node&);
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "anyfs/error.h"
#include "anyfs/types.h"
#include "fs/path.h"

namespace anyfs {

template <class Node>
struct Resolved {
  // (name, node) from the root down. If `found`, the last element is the object
  // the path names (its name is "" for the root); otherwise the chain ends at the
  // directory that lacks `leaf`.
  std::vector<std::pair<std::string, Node>> chain;
  bool found = false;
  std::string leaf;  // the missing name when !found

  const Node& node() const { return chain.back().second; }
  const std::string& name() const { return chain.back().first; }
  bool is_root() const { return found && chain.size() == 1; }
  // The directory holding the object (found) or the missing name (!found).
  const Node& parent() const { return found ? chain[chain.size() - 2].second : chain.back().second; }
  // The canonical path of the object, or of where it would be.
  std::string canonical() const {
    std::vector<std::string> names;
    for (std::size_t i = 1; i < chain.size(); ++i) names.push_back(chain[i].first);
    if (!found) names.push_back(leaf);
    return path::join(names);
  }
};

// Walks `p` in `tree` from tree.root(). With Follow::Yes a final symlink is followed (and, if
// its target is missing, the result names the target's would-be place). A
// missing final component is not an error (found = false); a missing directory
// before it is NotFound. Errors: NotFound, NotDir, Loop, InvalidPath, NameTooLong.
template <class Tree>
Result<Resolved<typename Tree::Node>> walk_path(Tree& tree, std::string_view p, Follow follow) {
  using Node = typename Tree::Node;
  auto parts = ANYFS_TRY(path::split(p));
  std::vector<std::string> todo(parts.rbegin(), parts.rend());
  Resolved<Node> out;
  out.chain.emplace_back(std::string(), tree.root());
  int hops = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    const bool last = todo.empty();
    if (name == "..") {
      if (out.chain.size() > 1) out.chain.pop_back();
      continue;
    }
    auto child = ANYFS_TRY(tree.lookup(out.chain.back().second, name));
    if (!child) {
      if (!last) return fail(Errc::NotFound, std::string(p), "a directory on the path is missing");
      out.leaf = std::move(name);
      return out;
    }
    FileKind kind = tree.kind(*child);
    if (kind == FileKind::Symlink && (!last || follow == Follow::Yes)) {
      if (++hops > k_max_symlink_hops) return fail(Errc::Loop, std::string(p), "too many levels of symbolic links");
      std::string target = ANYFS_TRY(tree.link_target(*child));
      auto target_parts = ANYFS_TRY(path::split(target));
      todo.insert(todo.end(), target_parts.rbegin(), target_parts.rend());
      if (target.front() == '/') out.chain.resize(1);
      continue;
    }
    if (!last && kind != FileKind::Directory)
      return fail(Errc::NotDir, std::string(p), "a component is not a directory");
    out.chain.emplace_back(std::move(name), std::move(*child));
  }
  out.found = true;
  return out;
}

}  // namespace anyfs

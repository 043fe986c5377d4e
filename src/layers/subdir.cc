#include "anyfs/layers/subdir.h"

#include "fs/view_tree.h"
#include "layers/mapping_fs.h"

namespace anyfs {

Result<std::shared_ptr<Fs>> make_subdir(std::shared_ptr<Fs> inner, std::string_view root) {
  ViewTree<Fs> tree{*inner};
  auto r = ANYFS_TRY(resolve(tree, root, Follow::Yes));
  if (!r.found) return fail(Errc::NotFound, std::string(root), "the subtree does not exist");
  if (r.node().kind != FileKind::Directory) return fail(Errc::NotDir, std::string(root), "the subtree is not a directory");
  return std::shared_ptr<Fs>(std::make_shared<MappingFs>(std::move(inner), r.node().path));
}

}  // namespace anyfs

#include "anyfs/layers/subdir.h"

#include "layers/mapping_fs.h"

namespace anyfs {

Result<std::shared_ptr<Fs>> make_subdir(std::shared_ptr<Fs> inner, std::string_view root) {
  auto r = ANYFS_TRY(inner->resolve(root, Follow::Yes));
  if (!r.exists) return fail(Errc::NotFound, std::string(root), "the subtree does not exist");
  auto st = ANYFS_TRY(inner->lstat(r.path));
  if (!st.is_dir()) return fail(Errc::NotDir, std::string(root), "the subtree is not a directory");
  return std::shared_ptr<Fs>(std::make_shared<MappingFs>(std::move(inner), r.path));
}

}  // namespace anyfs

#include "support/random_tree.h"

#include "fs/path.h"

namespace anyfs::testing {

std::string random_content(std::mt19937_64& rng) {
  std::size_t n = rng() % 4 == 0 ? 100'000 + rng() % 300'000 : rng() % 5'000;
  std::string out(n, '\0');
  bool text = rng() % 2 == 0;
  for (std::size_t i = 0; i < n; ++i) out[i] = text ? static_cast<char>('a' + (i * 7 + n) % 26) : static_cast<char>(rng());
  return out;
}

// Applies one random operation to both the dataset and the model. Returns false
// once an operation fails (power is gone).
bool random_step(Fs& fs, Tree& model, std::mt19937_64& rng, Error* failure) {
  auto ok = [&](const auto& r) {
    if (!r && failure != nullptr) *failure = r.error();
    return r.has_value();
  };
  static const char* dirs[] = {"/", "/d0", "/d1", "/d0/e"};
  auto pick_dir = [&] {
    for (int tries = 0; tries < 4; ++tries) {
      std::string d = dirs[rng() % 4];
      if (d == "/" || model.contains(d)) return d;
    }
    return std::string("/");
  };
  auto pick_file = [&]() -> std::string {
    std::vector<std::string> files;
    for (const auto& [p, c] : model)
      if (c != "/") files.push_back(p);
    return files.empty() ? std::string() : files[rng() % files.size()];
  };
  switch (rng() % 7) {
    case 0: {  // mkdir
      std::string d = dirs[1 + rng() % 3];
      std::string parent(path::parent(d));
      if (model.contains(d) || (parent != "/" && !model.contains(parent))) return true;
      if (!ok(fs.mkdir(d))) return false;
      model[d] = "/";
      return true;
    }
    case 1:
    case 2: {  // write a whole file
      std::string p = path::child(pick_dir(), "f" + std::to_string(rng() % 8));
      if (model.contains(p) && model[p] == "/") return true;
      std::string data = random_content(rng);
      if (!ok(fs.write_file(p, data))) return false;
      model[p] = data;
      return true;
    }
    case 3: {  // overwrite a piece through a handle
      std::string p = pick_file();
      if (p.empty()) return true;
      std::string& cur = model[p];
      std::uint64_t at = cur.empty() ? 0 : rng() % (cur.size() + 1000);
      std::string piece = random_content(rng).substr(0, 3000);
      auto f = fs.open(p, OpenFlags::Write);
      if (!ok(f) || !ok((*f)->pwrite(piece, at)) || !ok((*f)->close())) return false;
      if (cur.size() < at + piece.size()) cur.resize(at + piece.size(), '\0');
      cur.replace(at, piece.size(), piece);
      return true;
    }
    case 4: {  // truncate
      std::string p = pick_file();
      if (p.empty()) return true;
      std::uint64_t size = rng() % (model[p].size() + 10);
      if (!ok(fs.truncate(p, size))) return false;
      model[p].resize(size, '\0');
      return true;
    }
    case 5: {  // rename a file over another name
      std::string from = pick_file();
      if (from.empty()) return true;
      std::string to = path::child(pick_dir(), "f" + std::to_string(rng() % 8));
      if (model.contains(to) && model[to] == "/") return true;
      if (!ok(fs.rename(from, to))) return false;
      if (from != to) {
        model[to] = model[from];
        model.erase(from);
      }
      return true;
    }
    default: {  // remove
      std::string p = pick_file();
      if (p.empty()) return true;
      if (!ok(fs.remove(p))) return false;
      model.erase(p);
      return true;
    }
  }
}

// The large-file workload: files of several hundred KB (many chunks at a 16 KiB
// record size) overwritten in place with pwrite across chunk boundaries,
// truncated and extended, storms of renames that replace files, reflinks that
// share every chunk with another file, and gc with no grace — all checked
// against the model of the root directory.
bool big_file_step(Pool& pool, Dataset& fs, Tree& model, std::mt19937_64& rng, Tree& durable, Tree& pending,
                   Error* failure) {
  auto ok = [&](const auto& r) {
    if (!r && failure != nullptr) *failure = r.error();
    return r.has_value();
  };
  auto name = [&] { return "/f" + std::to_string(rng() % 6); };
  auto bytes = [&](std::size_t n) {
    std::string out(n, '\0');
    const bool text = rng() % 2 == 0;
    for (std::size_t i = 0; i < n; ++i) out[i] = text ? static_cast<char>('a' + (i / 100) % 26) : static_cast<char>(rng());
    return out;
  };
  switch (rng() % 6) {
    case 0:
    case 1: {  // a large overwrite in place, maybe past the end
      std::string p = name();
      std::string& cur = model[p];
      const std::uint64_t at = rng() % (cur.size() + 50'000);
      const std::string piece = bytes(1 + rng() % 200'000);
      auto f = fs.open(p, OpenFlags::Write | OpenFlags::Create);
      if (!ok(f) || !ok((*f)->pwrite(piece, at)) || !ok((*f)->close())) return false;
      if (cur.size() < at + piece.size()) cur.resize(at + piece.size(), '\0');
      cur.replace(at, piece.size(), piece);
      return true;
    }
    case 2: {  // a rename storm: names chase each other, replacing what is there
      for (int i = 0; i < 8; ++i) {
        std::string a = name(), b = name();
        if (!model.contains(a) || a == b) continue;
        if (!ok(fs.rename(a, b))) return false;
        model[b] = model[a];
        model.erase(a);
      }
      return true;
    }
    case 3: {  // a reflink: a second name sharing every chunk
      std::string a = name(), b = name();
      if (!model.contains(a) || model.contains(b)) return true;
      if (!ok(fs.reflink(a, b))) return false;
      model[b] = model[a];
      return true;
    }
    case 4: {  // truncate down or up
      std::string p = name();
      if (!model.contains(p)) return true;
      const std::uint64_t size = rng() % (model[p].size() + 100'000);
      if (!ok(fs.truncate(p, size))) return false;
      model[p].resize(size, '\0');
      return true;
    }
    default:  // reclaim what nothing references any more
      pending = model;
      if (!ok(pool.gc({.grace_seconds = 0}))) return false;
      durable = model;
      return true;
  }
}

Result<void> read_tree(Fs& fs, const std::string& dir, Tree& out) {
  for (const auto& e : ANYFS_TRY(fs.read_dir(dir))) {
    std::string p = path::child(dir, e.name);
    if (e.kind == FileKind::Directory) {
      out[p] = "/";
      ANYFS_CHECK(read_tree(fs, p, out));
    } else {
      out[p] = ANYFS_TRY(fs.read_file(p));
    }
  }
  return {};
}

std::string describe(const Tree& t) {
  std::string s;
  for (const auto& [p, c] : t) s += p + (c == "/" ? "/" : "(" + std::to_string(c.size()) + ")") + " ";
  return s;
}

}  // namespace anyfs::testing

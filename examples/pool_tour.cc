// The README's pool example, built and run as a test: create a pool, write
// through its root dataset, commit, reopen and read back.
#include <unistd.h>

#include <iostream>
#include <string>

#include "anyfs/pool.h"

int main() {
  std::string path = "/tmp/pool_tour_" + std::to_string(::getpid()) + ".anyfs";
  {
    auto pool = anyfs::Pool::create(path, {.properties = {{"compression", "zstd"}}});
    if (!pool) return std::cerr << pool.error().to_string() << "\n", 1;
    auto fs = (*pool)->dataset();  // the root dataset: an anyfs::Fs
    (*fs)->mkdirs("/notes");
    (*fs)->write_file("/notes/today.txt", "hello from a pool\n");
    (*fs)->reflink("/notes/today.txt", "/notes/copy.txt");  // shares every chunk
    if (auto synced = (*pool)->sync(); !synced) return std::cerr << synced.error().to_string() << "\n", 1;
  }  // closing commits too
  auto pool = anyfs::Pool::open(path, {.read_only = true});
  if (!pool) return std::cerr << pool.error().to_string() << "\n", 1;
  auto text = (*(*pool)->dataset())->read_file("/notes/copy.txt");
  auto report = (*pool)->verify();
  std::cout << *text << "verify: " << (report && report->ok() ? "ok" : "DAMAGE") << "\n";
  (*pool)->close();
  ::unlink(path.c_str());
  return text && *text == "hello from a pool\n" && report && report->ok() ? 0 : 1;
}

// The library example of README.md, built and run by ctest so it stays true.
#include <iostream>

#include "anyfs/layers/overlay.h"
#include "anyfs/memory_fs.h"

int main() {
  auto image = anyfs::make_memory_fs();
  if (!image->mkdirs("/etc") || !image->write_file("/etc/motd", "welcome\n")) return 1;

  // A writable scratch layer over a read-only image; changes never touch `image`.
  auto fs = anyfs::make_overlay(anyfs::make_memory_fs(), image);
  if (!fs->append("/etc/motd", "changed in the upper layer\n")) return 1;

  auto handle = fs->open("/etc/motd", anyfs::OpenFlags::Read);
  if (!handle) {
    std::cerr << handle.error().to_string() << "\n";  // errors are values
    return 1;
  }
  auto merged = fs->read_file("/etc/motd");
  auto original = image->read_file("/etc/motd");
  std::cout << *merged << "---\n" << *original;
  return *merged == "welcome\nchanged in the upper layer\n" && *original == "welcome\n" ? 0 : 1;
}

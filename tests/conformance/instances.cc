// Every Fs runs the conformance and differential suites: one line each.
#include "anyfs/host_fs.h"
#include "anyfs/memory_fs.h"
#include "conformance/fs_conformance.h"

namespace anyfs::testing {
namespace {

std::shared_ptr<Fs> host(const std::string& dir) {
  auto fs = open_host_fs(dir);
  if (!fs) throw std::runtime_error(fs.error().to_string());
  return *fs;
}

const FsFactory k_memory{"MemoryFs", [](const std::string&) { return Subject{make_memory_fs(), nullptr}; }};
const FsFactory k_host{"HostFs", [](const std::string& dir) { return Subject{host(dir), nullptr}; }};

}  // namespace

ANYFS_CONFORMANCE(Base, k_memory, k_host);

}  // namespace anyfs::testing

#include "anyfs/layers/op.h"

#include <array>

#include "anyfs/types.h"

namespace anyfs {
namespace {

struct OpInfo {
  std::string_view name;
  bool mutates;
};

constexpr std::array<OpInfo, k_op_count> k_ops = {{
    {"stat", false},         {"lstat", false},      {"read_dir", false},  {"mkdir", true},
    {"remove", true},        {"rename", true},      {"link", true},       {"symlink", true},
    {"readlink", false},     {"chmod", true},       {"chown", true},      {"utimens", true},
    {"truncate", true},      {"get_xattr", false},  {"set_xattr", true},  {"list_xattr", false},
    {"remove_xattr", true},  {"statfs", false},     {"sync", false},      {"open", false},
    {"resolve", false},      {"file_read", false},  {"file_write", true}, {"file_append", true},
    {"file_truncate", true}, {"file_fsync", false}, {"file_stat", false}, {"file_close", false},
}};

}  // namespace

std::string_view op_name(Op op) { return k_ops.at(static_cast<std::size_t>(op)).name; }

bool op_mutates(Op op, std::uint32_t open_flags) {
  if (op == Op::Open) {
    auto flags = static_cast<OpenFlags>(open_flags);
    return has(flags, OpenFlags::Write) || has(flags, OpenFlags::Create) || has(flags, OpenFlags::Truncate);
  }
  return k_ops.at(static_cast<std::size_t>(op)).mutates;
}

}  // namespace anyfs

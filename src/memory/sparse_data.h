// The bytes of one in-memory file: a map of fixed-size blocks, so a hole costs
// nothing and truncating to a terabyte allocates nothing. A block holds only the
// prefix that was written; the rest of it reads as zeros.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace anyfs {

class SparseData {
 public:
  static constexpr std::uint64_t k_block = 16 * 1024;

  std::uint64_t size() const { return size_; }
  // Bytes held in memory (what statfs and Stat::blocks count).
  std::uint64_t allocated() const { return allocated_; }

  // Copies up to buf.size() bytes at `offset`; returns the count (0 past the end).
  std::size_t read(std::span<char> buf, std::uint64_t offset) const;
  // Writes `data` at `offset`, growing the size if needed.
  void write(std::string_view data, std::uint64_t offset);
  // Sets the size; shrinking frees blocks past it.
  void resize(std::uint64_t size);

 private:
  std::map<std::uint64_t, std::string> blocks_;  // block index -> written prefix
  std::uint64_t size_ = 0;
  std::uint64_t allocated_ = 0;
};

}  // namespace anyfs

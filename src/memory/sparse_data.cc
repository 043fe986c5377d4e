#include "memory/sparse_data.h"

#include <algorithm>
#include <cstring>

namespace anyfs {

std::size_t SparseData::read(std::span<char> buf, std::uint64_t offset) const {
  if (offset >= size_) return 0;
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
  std::uint64_t filled = offset;  // bytes before this are in buf; zero only the gaps
  auto it = blocks_.lower_bound(offset / k_block);
  for (; it != blocks_.end(); ++it) {
    std::uint64_t block_start = it->first * k_block;
    if (block_start >= offset + n) break;
    std::uint64_t from = std::max(offset, block_start);
    std::uint64_t to = std::min<std::uint64_t>(offset + n, block_start + it->second.size());
    if (from >= to) continue;
    if (from > filled) std::memset(buf.data() + (filled - offset), 0, from - filled);
    std::memcpy(buf.data() + (from - offset), it->second.data() + (from - block_start), to - from);
    filled = to;
  }
  if (filled < offset + n) std::memset(buf.data() + (filled - offset), 0, offset + n - filled);
  return n;
}

void SparseData::write(std::string_view data, std::uint64_t offset) {
  std::uint64_t pos = offset;
  std::size_t done = 0;
  while (done < data.size()) {
    std::uint64_t index = pos / k_block;
    std::uint64_t in_block = pos % k_block;
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(k_block - in_block, data.size() - done));
    std::string& block = blocks_[index];
    if (block.size() < in_block + n) {
      allocated_ += in_block + n - block.size();
      block.resize(in_block + n, '\0');
    }
    std::memcpy(block.data() + in_block, data.data() + done, n);
    done += n;
    pos += n;
  }
  size_ = std::max(size_, offset + data.size());
}

void SparseData::resize(std::uint64_t size) {
  if (size < size_) {
    std::uint64_t first_dropped = (size + k_block - 1) / k_block;
    for (auto it = blocks_.lower_bound(first_dropped); it != blocks_.end();) {
      allocated_ -= it->second.size();
      it = blocks_.erase(it);
    }
    if (size % k_block != 0) {
      auto it = blocks_.find(size / k_block);
      std::uint64_t keep = size % k_block;
      if (it != blocks_.end() && it->second.size() > keep) {
        allocated_ -= it->second.size() - keep;
        it->second.resize(keep);
      }
    }
  }
  size_ = size;
}

}  // namespace anyfs

#include "util/uuid.h"

#include <fmt/format.h>

#include <fstream>

namespace anyfs {

namespace {

void random_bytes(unsigned char (&bytes)[16]) {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
}

}  // namespace

std::string random_guid() {
  unsigned char bytes[16] = {};
  random_bytes(bytes);
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string random_uuid() {
  unsigned char bytes[16] = {};
  random_bytes(bytes);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

}  // namespace anyfs

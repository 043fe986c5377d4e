// The replication stream decoder (send/stream_format.h) on arbitrary input:
// it never crashes, never allocates more than a record may hold, and a
// stream it reads to the end encodes back to exactly the bytes it read (so
// nothing in a stream is ignored, and every check it passed means something).
#include <cstring>

#include "fuzz/fuzz_check.h"
#include "send/stream_format.h"

using namespace anyfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t at = 0;
  stream::StreamReader reader([&](std::span<char> out) -> Result<std::size_t> {
    // Small pieces, as a pipe may give them.
    const std::size_t n = std::min({out.size(), input.size() - at, std::size_t{4096}});
    std::memcpy(out.data(), input.data() + at, n);
    at += n;
    return n;
  });
  std::vector<stream::Record> records;
  while (!reader.done()) {
    auto record = reader.next();
    if (!record) {
      const Errc code = record.error().code;
      FUZZ_CHECK(code == Errc::Corrupt || code == Errc::NoData || code == Errc::Unsupported)
          << "unexpected error: " << record.error().to_string();
      return 0;
    }
    records.push_back(std::move(*record));
  }
  std::string again;
  stream::StreamWriter writer([&](std::string_view bytes) -> Result<void> {
    again.append(bytes);
    return {};
  });
  for (std::size_t i = 0; i + 1 < records.size(); ++i) {
    auto written = writer.write(records[i]);
    FUZZ_CHECK(written) << "a record read back does not write: " << written.error().to_string();
  }
  FUZZ_CHECK(writer.end());
  FUZZ_CHECK(again == input) << "a stream of " << input.size() << " bytes read to its end encodes back to "
                             << again.size() << " other bytes";
  return 0;
}

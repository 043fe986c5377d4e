// Every decoder of stored chunk bytes (chunk/codec.h, load_chunk) on arbitrary
// input: a stored chunk read back is either its exact bytes or Corrupt — never
// wrong bytes, never a crash, never an allocation the stored bytes cannot
// justify (libFuzzer's -malloc_limit_mb catches those). Also: whatever is
// prepared from raw bytes with any codec loads back as those bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include "chunk/chunk_store.h"
#include "chunk/codec.h"
#include "chunk/hash.h"
#include "fuzz/fuzz_check.h"

using namespace anyfs;

namespace {

void check_round_trip(FuzzedDataProvider& in) {
  static const CompressionSpec k_specs[] = {{Codec::None, 0}, {Codec::Lz4, 0}, {Codec::Zstd, 1}, {Codec::Zstd, 3}};
  const CompressionSpec spec = in.PickValueInArray(k_specs);
  const std::string raw = in.ConsumeRemainingBytesAsString();
  auto store = make_memory_chunk_store();
  auto id = store_chunk(*store, spec, raw);
  FUZZ_CHECK(id) << "store_chunk failed: " << id.error().to_string();
  auto back = load_chunk(*store, *id, true);
  FUZZ_CHECK(back && *back == raw) << "a chunk of " << raw.size() << " bytes (" << spec.to_string()
                                   << ") did not load back";
}

// A stored chunk as a damaged row would give it: any codec number, any sizes,
// any bytes; the checksum right (so the decoders run) or not.
void check_damaged(FuzzedDataProvider& in) {
  StoredChunk chunk;
  chunk.codec = static_cast<Codec>(in.ConsumeIntegralInRange<int>(0, 3));
  const bool small_size = in.ConsumeBool();
  chunk.raw_size = small_size ? in.ConsumeIntegralInRange<std::uint32_t>(0, 1 << 20) : in.ConsumeIntegral<std::uint32_t>();
  const bool right_checksum = in.ConsumeBool();
  const std::uint64_t checksum = in.ConsumeIntegral<std::uint64_t>();
  const bool claims_content = in.ConsumeBool();  // the id is the SHA-256 of the stored bytes' decoding
  chunk.stored = in.ConsumeRemainingBytesAsString();
  chunk.checksum = right_checksum ? xxh3(chunk.stored) : checksum;

  ChunkId id = sha256(chunk.stored);
  if (claims_content) {
    auto decoded = decode(chunk.codec, chunk.stored, chunk.raw_size);
    if (decoded) id = sha256(*decoded);
  }
  auto store = make_memory_chunk_store();
  FUZZ_CHECK(store->put(id, chunk));

  for (bool verify_id : {false, true}) {
    auto loaded = load_chunk(*store, id, verify_id);
    if (!loaded) {
      FUZZ_CHECK(loaded.error().code == Errc::Corrupt) << "load_chunk failed with " << loaded.error().to_string();
      FUZZ_CHECK(loaded.error().message.size() > 0 && loaded.error().path.starts_with("chunk "))
          << "a damaged chunk's error does not name it: " << loaded.error().to_string();
      continue;
    }
    FUZZ_CHECK(loaded->size() == chunk.raw_size) << "loaded " << loaded->size() << " bytes of a " << chunk.raw_size << "-byte chunk";
    if (verify_id) FUZZ_CHECK(sha256(*loaded) == id) << "load_chunk(verify_id) returned bytes that are not the chunk";
    if (chunk.raw_size <= (1u << 20)) {
      std::string into(chunk.raw_size, '\0');
      auto same = load_chunk_into(*store, id, into, verify_id);
      FUZZ_CHECK(same && *same && into == *loaded) << "load_chunk_into disagrees with load_chunk";
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool())
    check_round_trip(in);
  else
    check_damaged(in);
  return 0;
}

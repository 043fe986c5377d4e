// Throughput of the chunk building blocks on 1 MiB pieces, against memcpy of
// the same bytes in the same run:
//   build/bench/chunk_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Families: chunk_random/X (incompressible data), chunk_text/X (compressible).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>

#include "chunk/chunker.h"
#include "chunk/codec.h"
#include "chunk/hash.h"
#include "ratio_reporter.h"

namespace anyfs {
namespace {

constexpr std::size_t k_piece = 1 << 20;

std::string random_data() {
  std::mt19937_64 rng(11);
  std::string out(k_piece, '\0');
  for (std::size_t i = 0; i + 8 <= out.size(); i += 8) {
    std::uint64_t word = rng();
    std::memcpy(out.data() + i, &word, 8);
  }
  return out;
}

std::string text_data() {
  std::string out;
  std::mt19937 rng(5);
  static const char* k_words[] = {"chunk", "pool", "dataset", "snapshot", "the", "of", "records", "volume", "\n"};
  while (out.size() < k_piece) out += std::string(k_words[rng() % 9]) + " ";
  out.resize(k_piece);
  return out;
}

void run(benchmark::State& state, const std::string& data, const std::function<void(const std::string&)>& fn) {
  for (auto _ : state) fn(data);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

void register_all() {
  static const std::string random = random_data(), text = text_data();
  static std::string sink(k_piece, '\0');
  static const Chunker chunker({});
  for (auto [family, data] : {std::pair{"chunk_random", &random}, std::pair{"chunk_text", &text}}) {
    auto add = [&](const char* name, std::function<void(const std::string&)> fn) {
      benchmark::RegisterBenchmark((std::string(family) + "/" + name).c_str(), run, std::cref(*data), fn);
    };
    add("memcpy", [](const std::string& d) {
      std::memcpy(sink.data(), d.data(), d.size());
      benchmark::DoNotOptimize(sink.data());
    });
    add("cdc_chunker", [](const std::string& d) {
      std::string_view rest = d;
      while (!rest.empty()) rest.remove_prefix(chunker.cut(rest));
    });
    add("sha256", [](const std::string& d) { benchmark::DoNotOptimize(sha256(d)); });
    add("xxh3", [](const std::string& d) { benchmark::DoNotOptimize(xxh3(d)); });
    add("lz4", [](const std::string& d) { benchmark::DoNotOptimize(encode({Codec::Lz4, 0}, d)); });
    add("zstd-1", [](const std::string& d) { benchmark::DoNotOptimize(encode({Codec::Zstd, 1}, d)); });
    add("zstd-3", [](const std::string& d) { benchmark::DoNotOptimize(encode({Codec::Zstd, 3}, d)); });
  }
}

}  // namespace
}  // namespace anyfs

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  anyfs::register_all();
  anyfs::RatioReporter reporter([](const std::string&) { return "memcpy"; });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

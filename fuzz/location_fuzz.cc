// The command line's location syntax and the other text a user types that the
// library parses (pool/location.h, codec and property settings): nothing
// crashes, every refusal is InvalidArgument with a message, and what is
// accepted holds together (the path of a location is absolute, a parsed
// dataset name passes its check, a printed setting parses back to itself).
#include <fuzzer/FuzzedDataProvider.h>

#include "chunk/codec.h"
#include "fuzz/fuzz_check.h"
#include "pool/location.h"
#include "pool/properties.h"

using namespace anyfs;

namespace {

template <class T>
void check_refusal(const Result<T>& r, std::string_view what, const std::string& text) {
  if (r) return;
  FUZZ_CHECK(r.error().code == Errc::InvalidArgument) << what << " of '" << text << "' failed with " << errc_name(r.error().code);
  FUZZ_CHECK(!r.error().message.empty()) << what << " refused '" << text << "' without a message";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string text = in.ConsumeRandomLengthString(1000);
  const std::string value = in.ConsumeRemainingBytesAsString();

  auto loc = parse_location(text);
  check_refusal(loc, "parse_location", text);
  if (loc) {
    FUZZ_CHECK(!loc->path.empty() && loc->path.front() == '/') << "location '" << text << "' has path " << loc->path;
    if (!loc->dataset.empty()) FUZZ_CHECK(check_dataset_name(loc->dataset)) << "dataset of '" << text << "'";
    if (loc->snapshot) FUZZ_CHECK(check_snapshot_name(*loc->snapshot)) << "snapshot of '" << text << "'";
  }

  auto spec = parse_snapshot_spec(text);
  check_refusal(spec, "parse_snapshot_spec", text);
  if (spec) {
    FUZZ_CHECK(check_snapshot_name(spec->name)) << "snapshot name of '" << text << "'";
    FUZZ_CHECK(spec->dataset.empty() || check_dataset_name(spec->dataset)) << "dataset of '" << text << "'";
    FUZZ_CHECK(spec->dataset + "@" + spec->name == text) << "'" << text << "' does not print back";
  }

  auto as_of = parse_as_of(text);
  check_refusal(as_of, "parse_as_of", text);
  if (as_of) FUZZ_CHECK(as_of->tid || as_of->time_ns || as_of->snapshot) << "'" << text << "' parsed to nothing";

  check_refusal(check_dataset_name(text), "check_dataset_name", text);
  check_refusal(check_snapshot_name(text), "check_snapshot_name", text);

  auto compression = CompressionSpec::parse(text);
  check_refusal(compression, "CompressionSpec::parse", text);
  if (compression) {
    auto again = CompressionSpec::parse(compression->to_string());
    FUZZ_CHECK(again && again->codec == compression->codec && again->level == compression->level)
        << "'" << text << "' prints as '" << compression->to_string() << "', which does not parse back";
  }

  (void)parse_duration(text);
  auto property = check_property(text, value);
  check_refusal(property, "check_property", text);
  if (property) {
    auto again = check_property(text, *property);
    FUZZ_CHECK(again && *again == *property) << "property " << text << ": canonical '" << *property << "' is not canonical";
  }
  return 0;
}

#include "pool/pool_address.h"

#include "meta/pg/pg_schema.h"

#include <set>
#include <vector>

namespace anyfs {
namespace {

constexpr const char* k_address_forms =
    "a pool is a file PATH, or postgresql://[USER@]HOST[:PORT]/DB?chunks=rados://RPOOL (or chunks=PATH) "
    "[&schema=NAME][&ceph_conf=PATH]";

Result<std::string> percent_decoded(std::string_view text, std::string_view whole) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0)
      return fail(Errc::InvalidArgument, std::string(whole), "a bad %-escape in the pool's address");
    out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

Result<PoolAddress> parse_pool_address(std::string_view text) {
  PoolAddress out;
  const std::string whole(text);
  if (!text.starts_with("postgresql://") && !text.starts_with("postgres://")) {
    if (text.empty()) return fail(Errc::InvalidArgument, whole, k_address_forms);
    out.path = whole;
    return out;
  }
  out.kind = PoolAddress::Kind::Postgres;
  const auto question = text.find('?');
  std::string server(text.substr(0, question));
  std::vector<std::string> passed_on;
  std::set<std::string> seen;
  bool chunks_given = false;
  if (question != std::string_view::npos) {
    std::string_view query = text.substr(question + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (item.empty()) continue;
      const auto eq = item.find('=');
      const std::string key(item.substr(0, eq));
      const std::string value =
          ANYFS_TRY(percent_decoded(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1), text));
      if (!seen.insert(key).second)
        return fail(Errc::InvalidArgument, whole, "parameter " + key + " is given twice");
      if (key == "schema") {
        if (auto checked = pg::check_schema_name(value); !checked)
          return fail(Errc::InvalidArgument, whole, "schema=: " + checked.error().message);
        out.schema = value;
      } else if (key == "chunks") {
        chunks_given = true;
        if (value.starts_with("rados://")) {
          out.rados_pool = value.substr(8);
          if (out.rados_pool.empty() || out.rados_pool.find('/') != std::string::npos)
            return fail(Errc::InvalidArgument, whole, "chunks=rados://RPOOL names one RADOS pool");
        } else if (value.find("://") != std::string::npos) {
          return fail(Errc::InvalidArgument, whole,
                      "chunks= is rados://RPOOL or the PATH of a local volume file, not " + value);
        } else if (value.empty()) {
          return fail(Errc::InvalidArgument, whole, "chunks= is empty");
        } else {
          out.chunks_path = value;
        }
      } else if (key == "ceph_conf") {
        out.ceph_conf = value;
      } else {
        passed_on.emplace_back(item);
      }
    }
  }
  if (!chunks_given)
    return fail(Errc::InvalidArgument, whole,
                "a pool on PostgreSQL says where its chunks go: chunks=rados://RPOOL or chunks=PATH");
  if (!out.ceph_conf.empty() && out.rados_pool.empty())
    return fail(Errc::InvalidArgument, whole, "ceph_conf= is for chunks=rados://RPOOL");
  for (std::size_t i = 0; i < passed_on.size(); ++i) server += (i == 0 ? "?" : "&") + passed_on[i];
  out.server = std::move(server);
  return out;
}

}  // namespace anyfs

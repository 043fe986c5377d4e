#include "fs/path.h"

#include "anyfs/types.h"

namespace anyfs::path {

Result<void> validate(std::string_view path) {
  if (path.empty()) return fail(Errc::InvalidPath, "", "empty path");
  if (path.find('\0') != std::string_view::npos)
    return fail(Errc::InvalidPath, std::string(path.substr(0, path.find('\0'))), "path contains a NUL byte");
  if (path.size() >= k_max_path_length)
    return fail(Errc::NameTooLong, std::string(path.substr(0, 64)) + "...", "path is longer than 4095 bytes");
  for (auto part : components(path))
    if (part.size() > k_max_name_length)
      return fail(Errc::NameTooLong, std::string(path), "a component is longer than 255 bytes");
  return {};
}

Result<std::vector<std::string>> split(std::string_view path) {
  ANYFS_CHECK(validate(path));
  std::vector<std::string> parts;
  for (auto part : components(path))
    if (part != ".") parts.emplace_back(part);
  return parts;
}

// A target is data until something follows it: Linux takes any bytes up to
// PATH_MAX whatever its components (following a long one is ENAMETOOLONG then).
Result<void> validate_symlink_target(std::string_view target) {
  if (target.empty()) return fail(Errc::NotFound, "", "empty symlink target");
  if (target.find('\0') != std::string_view::npos)
    return fail(Errc::InvalidPath, std::string(target.substr(0, target.find('\0'))), "symlink target contains a NUL byte");
  if (target.size() >= k_max_path_length)
    return fail(Errc::NameTooLong, std::string(target.substr(0, 64)) + "...", "symlink target is longer than 4095 bytes");
  return {};
}

Result<void> validate_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..")
    return fail(Errc::InvalidArgument, std::string(name), "not a valid entry name");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return fail(Errc::InvalidPath, std::string(name), "a name may not contain '/' or NUL");
  if (name.size() > k_max_name_length)
    return fail(Errc::NameTooLong, std::string(name), "name is longer than 255 bytes");
  return {};
}

Result<void> check_names_entry(std::string_view p) {
  auto parts = ANYFS_TRY(split(p));
  std::string_view trimmed = p;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.remove_suffix(1);
  std::string_view last = base_name(trimmed);
  if (!parts.empty() && (last == ".." || last == "."))
    return fail(Errc::InvalidArgument, std::string(p), "the last component must name an entry");
  return {};
}

std::string join(const std::vector<std::string>& components) {
  if (components.empty()) return "/";
  std::string out;
  for (const auto& c : components) {
    out += '/';
    out += c;
  }
  return out;
}

std::string child(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string parent(std::string_view canonical) {
  auto pos = canonical.rfind('/');
  if (pos == std::string_view::npos || pos == 0) return "/";
  return std::string(canonical.substr(0, pos));
}

std::string_view base_name(std::string_view canonical) {
  auto pos = canonical.rfind('/');
  if (pos == std::string_view::npos) return canonical;
  return canonical.substr(pos + 1);
}

std::string normalize(std::string_view p) {
  std::vector<std::string> out;
  for (auto part : components(p)) {
    if (part == "..") {
      if (!out.empty()) out.pop_back();
    } else if (part != ".") {
      out.emplace_back(part);
    }
  }
  return join(out);
}

bool is_within(std::string_view p, std::string_view ancestor) {
  if (ancestor == "/") return true;
  if (p.size() < ancestor.size() || p.substr(0, ancestor.size()) != ancestor) return false;
  return p.size() == ancestor.size() || p[ancestor.size()] == '/';
}

namespace {

// Matches one component against a component pattern (no '/').
bool match_component(std::string_view pat, std::string_view s) {
  std::size_t pi = 0, si = 0, star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < pat.size() && pat[pi] == '*') {
      star_p = pi++;
      star_s = si;
      continue;
    }
    if (pi < pat.size() && pat[pi] == '[') {
      std::size_t close = pat.find(']', pi + 2);
      if (close != std::string_view::npos) {
        bool negate = pat[pi + 1] == '!' || pat[pi + 1] == '^';
        std::size_t i = pi + 1 + (negate ? 1 : 0);
        bool hit = false;
        for (; i < close; ++i) {
          if (i + 2 < close && pat[i + 1] == '-') {
            hit = hit || (s[si] >= pat[i] && s[si] <= pat[i + 2]);
            i += 2;
          } else {
            hit = hit || s[si] == pat[i];
          }
        }
        if (hit != negate) {
          pi = close + 1;
          ++si;
          continue;
        }
      } else if (s[si] == '[') {
        ++pi;
        ++si;
        continue;
      }
    } else if (pi < pat.size() && (pat[pi] == '?' || pat[pi] == s[si])) {
      ++pi;
      ++si;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    si = ++star_s;
  }
  while (pi < pat.size() && pat[pi] == '*') ++pi;
  return pi == pat.size();
}

// Matches pattern components pat[pi..] against s[si..end).
template <class Pattern>
bool match_parts(const Pattern& pat, std::size_t pi, const std::vector<std::string_view>& s, std::size_t si,
                 std::size_t end) {
  if (pi == pat.size()) return si == end;
  if (pat[pi] == "**") {
    for (std::size_t k = si; k <= end; ++k)
      if (match_parts(pat, pi + 1, s, k, end)) return true;
    return false;
  }
  if (si == end) return false;
  return match_component(pat[pi], s[si]) && match_parts(pat, pi + 1, s, si + 1, end);
}

}  // namespace

std::vector<std::string_view> components(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) out.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Glob::Glob(std::string_view pattern) {
  std::string anchored =
      !pattern.empty() && pattern.front() == '/' ? std::string(pattern) : "/**/" + std::string(pattern);
  for (auto part : components(anchored)) parts_.emplace_back(part);
}

bool Glob::matches(const std::vector<std::string_view>& parts, std::size_t count) const {
  return match_parts(parts_, 0, parts, 0, count);
}

bool glob_match(std::string_view pattern, std::string_view canonical) {
  auto parts = components(canonical);
  return Glob(pattern).matches(parts, parts.size());
}

}  // namespace anyfs::path

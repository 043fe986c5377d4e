#include "support/replication.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include "chunk/hash.h"
#include "support/exec_self.h"
#include "support/random_bytes.h"

namespace anyfs::testing {
namespace {

void describe_dir(Fs& fs, const std::string& dir, std::vector<std::string>& out, bool atimes);
void paths(Fs& fs, const std::string& dir, std::vector<std::string>& files, std::vector<std::string>& dirs);

}  // namespace

ByteSink into(std::string& out) {
  return [&out](std::string_view bytes) -> Result<void> {
    out.append(bytes);
    return {};
  };
}

ByteSource from(const std::string& in) {
  auto at = std::make_shared<std::size_t>(0);
  return [&in, at](std::span<char> out) -> Result<std::size_t> {
    // Odd-sized pieces, as a pipe gives them.
    std::size_t n = std::min({out.size(), in.size() - *at, std::size_t{7777}});
    std::memcpy(out.data(), in.data() + *at, n);
    *at += n;
    return n;
  };
}

// The receiver kill_receiver_midway starts: ANYFS_TEST_RECEIVE=POOL|TARGET|FIFO|RESUMABLE.
TEST(ReceiverChild, DISABLED_ReceivesFromAFifo) {
  const char* job = std::getenv("ANYFS_TEST_RECEIVE");
  ASSERT_TRUE(job);
  std::vector<std::string> parts;
  for (std::string rest(job);;) {
    auto bar = rest.find('|');
    parts.push_back(rest.substr(0, bar));
    if (bar == std::string::npos) break;
    rest.erase(0, bar + 1);
  }
  ASSERT_EQ(parts.size(), 4u);
  auto pool = must(Pool::open(parts[0]));
  const int fd = ::open(parts[2].c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  (void)pool->receive(
      parts[1],
      [&](std::span<char> out) -> Result<std::size_t> {
        ssize_t n = ::read(fd, out.data(), out.size());
        return n < 0 ? 0 : static_cast<std::size_t>(n);
      },
      {.resumable = parts[3] == "1"});
}

void kill_receiver_midway(const std::string& pool, const std::string& target, const std::string& stream,
                          std::size_t part, bool resumable, std::chrono::milliseconds settle) {
  const std::string fifo = pool + ".fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t child = start_self(::testing::internal::GetArgvs()[0].c_str(), "ReceiverChild.DISABLED_ReceivesFromAFifo",
                           "ANYFS_TEST_RECEIVE=" + pool + "|" + target + "|" + fifo + "|" + (resumable ? "1" : "0"));
  ASSERT_GT(child, 0);
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // once the child has the pool open
  ASSERT_GE(fd, 0);
  for (std::size_t at = 0; at < part;) {  // blocks while the child has not read what the pipe holds
    ssize_t n = ::write(fd, stream.data() + at, part - at);
    ASSERT_GT(n, 0);
    at += static_cast<std::size_t>(n);
  }
  std::this_thread::sleep_for(settle);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fd);
  ::unlink(fifo.c_str());
}

std::vector<std::string> describe(Fs& fs, bool atimes) {
  std::vector<std::string> out;
  auto root = must(fs.lstat("/"));
  out.push_back(fmt::format("/ mode={:o} uid={} m={}", root.mode, root.uid, root.mtime_ns));
  describe_dir(fs, "/", out, atimes);
  return out;
}

void mutate(Dataset& fs, std::mt19937_64& rng, int& serial) {
  std::vector<std::string> files, dirs{"/"};
  paths(fs, "/", files, dirs);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto fresh = [&]() {
    const std::string d = pick(dirs);
    return (d == "/" ? "" : d) + "/n" + std::to_string(serial++);
  };
  auto regular = [&]() -> std::optional<std::string> {
    for (int i = 0; i < 8 && !files.empty(); ++i) {
      auto f = pick(files);
      if (must(fs.lstat(f)).is_regular()) return f;
    }
    return std::nullopt;
  };
  const auto op = rng() % 13;
  SCOPED_TRACE(op);
  try {
  switch (op) {
    case 0:
    case 1: {  // a new file, text or random bytes, sometimes a few chunks long
      std::string data = rng() % 3 ? std::string(rng() % 5000, char('a' + rng() % 26))
                                   : random_bytes(rng() % 300000, rng());
      must(fs.write_file(fresh(), data, 0600 + rng() % 0100));
      break;
    }
    case 2: must(fs.mkdir(fresh(), 0700 + rng() % 0100)); break;
    case 3: {  // overwrite inside a file, or past its end (a hole)
      if (auto f = regular()) {
        auto h = must(fs.open(*f, OpenFlags::Write));
        const auto size = must(h->stat()).size;
        const std::uint64_t at = rng() % 2 ? (size ? rng() % size : 0) : size + rng() % 200000;
        must(h->pwrite(random_bytes(1 + rng() % 70000, rng()), at));
      }
      break;
    }
    case 4: {
      if (auto f = regular()) must(fs.truncate(*f, rng() % 2 ? 0 : must(fs.lstat(*f)).size / 2 + rng() % 100000));
      break;
    }
    case 5: {  // rename a file or directory, sometimes over an existing file
      if (files.empty()) break;
      auto from = rng() % 3 ? pick(files) : pick(dirs);
      if (from == "/") break;
      std::string to = rng() % 3 || files.empty() ? fresh() : pick(files);
      if (to.starts_with(from + "/") || to == from) break;
      (void)fs.rename(from, to);  // a directory over a file fails; that is fine
      break;
    }
    case 6: {
      if (files.empty()) break;
      must(fs.remove(pick(files)));
      break;
    }
    case 7: {  // a whole directory tree goes
      auto d = pick(dirs);
      if (d != "/") must(fs.remove_all(d));
      break;
    }
    case 8: {
      if (auto f = regular()) must(fs.link(*f, fresh()));
      break;
    }
    case 9: must(fs.symlink("target-" + std::to_string(rng() % 100), fresh())); break;
    case 10: {
      auto f = files.empty() || rng() % 4 == 0 ? pick(dirs) : pick(files);
      if (must(fs.lstat(f)).is_symlink()) break;
      auto names = must(fs.list_xattr(f));
      if (!names.empty() && rng() % 3 == 0)
        must(fs.remove_xattr(f, names[rng() % names.size()]));
      else
        must(fs.set_xattr(f, "user.k" + std::to_string(rng() % 4), "v" + std::to_string(rng())));
      break;
    }
    case 11: {
      auto f = files.empty() ? pick(dirs) : pick(files);
      if (!must(fs.lstat(f)).is_symlink()) must(fs.chmod(f, 0600 + rng() % 0200));
      break;
    }
    case 12: {
      auto f = files.empty() ? pick(dirs) : pick(files);
      if (must(fs.lstat(f)).is_symlink()) break;
      must(fs.utimens(f, TimeSpec::at(1'700'000'000'000'000'000 + std::int64_t(rng() % 1'000'000'000)),
                      TimeSpec::at(1'600'000'000'000'000'000 + std::int64_t(rng() % 1'000'000'000))));
      break;
    }
  }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("op {}: {}", op, e.what()));
  }
}

::testing::AssertionResult same(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "(nothing)", y = i < b.size() ? b[i] : "(nothing)";
    if (x != y) return ::testing::AssertionFailure() << "line " << i << ":\n  " << x << "\n  " << y;
  }
  return ::testing::AssertionSuccess();
}

namespace {

// Everything a receiver must reproduce about a tree: per path its object
// number, kind, attributes, times, symlink target, extended attributes and
// a hash of its bytes. Reading a live tree moves its access times, so those
// are left out (`atimes` false) where a live tree is described.
void describe_dir(Fs& fs, const std::string& dir, std::vector<std::string>& out, bool atimes) {
  auto entries = must(fs.read_dir(dir));
  std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  for (const auto& e : entries) {
    const std::string path = (dir == "/" ? "" : dir) + "/" + e.name;
    auto got = fs.lstat(path);
    if (!got) {
      out.push_back(path + " (listed, but lstat fails: " + got.error().to_string() + ")");
      continue;
    }
    auto st = *got;
    std::string line = fmt::format("{} ino={} kind={} mode={:o} uid={} gid={} nlink={} size={} a={} m={} c={} b={}",
                                   path, st.ino, static_cast<int>(st.kind), st.mode, st.uid, st.gid, st.nlink, st.size,
                                   atimes ? st.atime_ns : 0, st.mtime_ns, st.ctime_ns, st.btime_ns);
    if (st.is_symlink()) line += " -> " + must(fs.readlink(path));
    if (st.is_regular()) line += " sha=" + to_hex(sha256(must(fs.read_file(path)))).substr(0, 16);
    if (!st.is_symlink()) {  // the calls follow symlinks
      auto names = must(fs.list_xattr(path));
      std::sort(names.begin(), names.end());
      for (const auto& n : names) line += fmt::format(" x:{}={}", n, must(fs.get_xattr(path, n)));
    }
    out.push_back(std::move(line));
    if (st.is_dir()) describe_dir(fs, path, out, atimes);
  }
}

// Every path of the live tree (for picking what to change).
void paths(Fs& fs, const std::string& dir, std::vector<std::string>& files, std::vector<std::string>& dirs) {
  for (const auto& e : must(fs.read_dir(dir))) {
    const std::string path = (dir == "/" ? "" : dir) + "/" + e.name;
    if (e.kind == FileKind::Directory) {
      dirs.push_back(path);
      paths(fs, path, files, dirs);
    } else {
      files.push_back(path);
    }
  }
}

}  // namespace
}  // namespace anyfs::testing

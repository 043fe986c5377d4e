# Shared set-up for scripts/anyfs and scripts/test: install missing Debian
# packages, configure with CMake + Ninja, build. Sourced, not run.

# Everything the build needs, from Debian 12 (DESIGN.md §13).
k_packages=(
  g++ cmake ninja-build pkg-config
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libssl-dev libzstd-dev liblz4-dev libxxhash-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev
  libfuse3-dev fuse3
  libpq-dev librados-dev libradospp-dev
)

say() { printf 'anyfs-setup: %s\n' "$*" >&2; }

# ensure_packages [EXTRA...]: installs whatever of k_packages (and EXTRA) is missing.
ensure_packages() {
  local missing=()
  for p in "${k_packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local cmd="apt-get install -y -o DPkg::Lock::Timeout=600 ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    say "missing packages; as root, run:"
    printf '  apt-get update && %s\n' "$cmd" >&2
    exit 1
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -o DPkg::Lock::Timeout=600 >&2
  # shellcheck disable=SC2086
  $cmd >&2
}

# ensure_built BUILD_DIR [cmake options...]: configure once, then build (quietly
# when nothing changed). Build output goes to stderr.
ensure_built() {
  local dir=$1; shift
  local src
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ ! -f "$dir/build.ninja" ]; then
    say "configuring $dir"
    cmake -S "$src" -B "$dir" -G Ninja "$@" >&2
  fi
  # ANYFS_NINJA_TARGETS limits the build to some targets (scripts/test --tsan).
  # shellcheck disable=SC2086
  ninja -C "$dir" -n ${ANYFS_NINJA_TARGETS:-} 2>/dev/null | grep -q 'no work to do' && return 0
  say "building in $dir"
  # shellcheck disable=SC2086
  ninja -C "$dir" ${ANYFS_NINJA_TARGETS:-} >&2 || { say "build failed"; exit 1; }
}

# shellcheck shell=bash
# scripts/lib/deps.sh: sourced by scripts/test, scripts/demo and others.
#   lg_install_deps            install with apt whatever of LG_DEPS is missing (dpkg -s first;
#                              one `apt-get update` only when something is missing)
#   lg_build [DIR] [ARGS...]   configure (RelWithDebInfo, -DLETTAGATE_WERROR=ON, ARGS) and build
# Append to LG_DEPS (one array, Debian package names) when the project needs more.

LG_DEPS=(
  build-essential cmake pkg-config git
  libuv1-dev libhiredis-dev libpq-dev libspdlog-dev catch2 node-llhttp nlohmann-json3-dev
  postgresql redis-server nginx libnginx-mod-stream haproxy
  wrk prometheus docker-compose
  python3 curl procps iproute2 util-linux
  chromium
  clang libclang-rt-14-dev
  gnuplot-nox valgrind strace
  python3-yaml python3-kubernetes debootstrap make binutils
)

lg_repo_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

lg_install_deps() {
  local missing=() p
  for p in "${LG_DEPS[@]}"; do
    # dpkg -s succeeds also for removed-but-configured packages; check the status line.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  echo "lg_install_deps: installing ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  # Debian starts postgresql/redis/nginx right after installing them; policy-rc.d would stop
  # that, but we neither rely on nor disturb those system services (our stack uses free ports).
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" >&2
}

lg_build() {
  local dir="${1:-build}" launcher=()
  if [ "$#" -gt 0 ]; then shift; fi
  # ccache where it is installed: a second build of the same sources takes seconds.
  # The precompiled headers (CMakeLists.txt) are cacheable once ccache may ignore their
  # defines and timestamps.
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLETTAGATE_WERROR=ON "${launcher[@]}" "$@" &&
    cmake --build "$dir" -j"$(nproc)" ${LG_BUILD_TARGET:+--target "$LG_BUILD_TARGET"}
}

#!/usr/bin/env bash
# ringmx developer entry point. Installs what is missing (Debian 12, as root
# or through sudo), builds, and runs the gateway or the tests.
#
#   tools/dev.sh run [ringmx args...]   build, then run ringmx in the foreground
#   tools/dev.sh test                   build, then run every test (ctest)
#   tools/dev.sh test --sanitize        the same with ASan and UBSan (build-asan/)
#   tools/dev.sh build                  build only
#   tools/dev.sh deps [run|test]        install packages only
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Packages by purpose. Each one is from Debian 12.
build_pkgs=(g++ cmake ninja-build pkg-config liburing-dev libwolfssl-dev libssl-dev
            libfmt-dev libtomlplusplus-dev libbenchmark-dev libgtest-dev)
# Intel's ipsec-mb: record-layer AES-GCM on CPUs with VAES (tls/mb_record.h);
# Debian builds it for amd64 only, and ringmx builds without it elsewhere.
if [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ]; then
  build_pkgs+=(libipsec-mb-dev)
fi
# Real peers the integration tests drive: swaks, smtplib (python3),
# smtp-source/smtp-sink (postfix), openssl s_client, ss (iproute2), haproxy.
test_pkgs=(swaks postfix python3 openssl iproute2 procps haproxy)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  # Postfix is installed only for its smtp-source/smtp-sink tools: tell
  # debconf not to configure or start a mail system.
  echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

jobs=$(nproc)

# build DIR [--target T] [cmake -D options...]
build() {
  local dir=$1; shift
  local target=()
  if [ "${1:-}" = --target ]; then target=(--target "$2"); shift 2; fi
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" "${target[@]}"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  deps)
    install_missing "${build_pkgs[@]}"
    [ "${1:-run}" = test ] && install_missing "${test_pkgs[@]}"
    ;;
  build)
    install_missing "${build_pkgs[@]}"
    build build
    ;;
  run)
    install_missing "${build_pkgs[@]}"
    build build --target ringmx
    exec ./build/core/ringmx "$@"
    ;;
  test)
    install_missing "${build_pkgs[@]}" "${test_pkgs[@]}"
    if [ "${1:-}" = --sanitize ]; then
      build build-asan -DRINGMX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
      export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 600
    else
      build build
      ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600
    fi
    ;;
  *)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

#!/bin/sh
# Builds libtasshim.so into $1 (the Maven build passes target/classes/native/linux-x86_64).
# Without DPDK (pkg-config libdpdk) it says so and succeeds: the jar then has no .so and the
# dpdk port reports itself unavailable at run time.
set -eu
out_dir=${1:?usage: build.sh OUTPUT_DIR}
src_dir=$(cd "$(dirname "$0")" && pwd)
out="$out_dir/libtasshim.so"

if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  echo "native-shim: not linux-x86_64 ($(uname -s)/$(uname -m)); building without libtasshim.so — the dpdk port will be unavailable"
  exit 0
fi
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libdpdk; then
  echo "native-shim: DPDK (pkg-config libdpdk) not found; building without libtasshim.so — the dpdk port will be unavailable (apt-get install dpdk libdpdk-dev pkg-config)"
  exit 0
fi
if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
  echo "native-shim: no C compiler (${CC:-gcc}); building without libtasshim.so — the dpdk port will be unavailable (apt-get install gcc)"
  exit 0
fi
fwd="$out_dir/tas-fwd"
# Up to date? (make-style check, so repeated builds cost nothing)
if [ -f "$out" ] && [ "$out" -nt "$src_dir/tasshim.c" ] && [ "$out" -nt "$src_dir/tasshim.h" ] && [ "$out" -nt "$0" ] \
   && [ -f "$fwd" ] && [ "$fwd" -nt "$src_dir/tasfwd.c" ] && [ "$fwd" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$out_dir"
warn="-Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration -Werror=int-conversion -Werror=format"
# shellcheck disable=SC2046,SC2086 # pkg-config output and $warn must be word-split
"${CC:-gcc}" -O2 -g -fPIC -shared $warn \
  $(pkg-config --cflags libdpdk) "$src_dir/tasshim.c" -o "$out.tmp" $(pkg-config --libs libdpdk)
mv "$out.tmp" "$out"
echo "native-shim: built $out against DPDK $(pkg-config --modversion libdpdk)"
# tas-fwd: a two-port forwarder (e.g. net_vhost <-> net_tap) that plays the host switch for the
# engine on the virtio PMD in tests; shipped in the jar next to the library.
# shellcheck disable=SC2046,SC2086
"${CC:-gcc}" -O2 -g $warn $(pkg-config --cflags libdpdk) "$src_dir/tasfwd.c" -o "$fwd.tmp" $(pkg-config --libs libdpdk)
mv "$fwd.tmp" "$fwd"
echo "native-shim: built $fwd"

#!/bin/sh
# Fetch what the GPU device check carries to a machine that has no package registry:
# bubblewrap as Debian's .deb (unpacked there into a folder of its own) and the wheels of
# bench/gpu/wheels.txt. Run it here, in the repository root of the checkout the device tool sends:
#
#     sh bench/gpu/prepare.sh [DEST]        # DEST: default bench/gpu/carry (git-ignored)
#
# PYTHON_VERSION picks the wheels' Python (default 3.12, the GPU machine's); a dry run on this
# machine's Python uses its own version. Nothing fetched here is committed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${1:-$root/bench/gpu/carry}
pyver=${PYTHON_VERSION:-3.12}

arch=$(dpkg --print-architecture)
if [ "$arch" != amd64 ]; then
    echo "prepare: this machine is $arch; the GPU machine is amd64 (x86-64): fetch there-compatible packages elsewhere" >&2
    exit 2
fi
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
        && [ "$dest" = "$root/bench/gpu/carry" ] && ! git -C "$root" check-ignore -q "$dest/x"; then
    echo "prepare: $dest is not ignored by git; it must not be committed (see .gitignore)" >&2
    exit 2
fi

rm -rf "$dest"
mkdir -p "$dest/wheels"
(cd "$dest" && apt-get download -q bubblewrap)

# --no-deps: wheels.txt names every package the machine lacks (their needs checked by hand from
# each wheel's Requires-Dist); the platforms are the device notes' list for manylinux x86-64.
grep -v '^#' "$here/wheels.txt" | grep . | xargs python3 -m pip download -q --no-deps \
    --only-binary=:all: --python-version "$pyver" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d "$dest/wheels"

{
    echo "prepared: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "python: $pyver"
    (cd "$dest" && sha256sum ./*.deb wheels/*.whl)
} > "$dest/manifest.txt"
cat "$dest/manifest.txt"
echo "carry: $(du -sh "$dest" | cut -f1) in $dest"

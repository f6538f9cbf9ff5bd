# Shared by the tools/ scripts: where things are, and how to say what we do.
# shellcheck shell=bash

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CMAVM_CACHE:-$ROOT/.cache}
mkdir -p "$CACHE"
HOST_ARCH=$(uname -m)

# The native build always exists; the VMM build is the cross build on hosts
# that are not arm64, and the native build on arm64.
BUILD_NATIVE=$ROOT/build
if [ "$HOST_ARCH" = aarch64 ]; then
	BUILD_VMM=$BUILD_NATIVE
else
	BUILD_VMM=$ROOT/build-arm64
fi

# Sanitizer builds, made only when asked for (tools/build asan fuzz; tools/test):
# the unit tests under ASan and UBSan (gcc), the libFuzzer targets (clang).
BUILD_ASAN=$ROOT/build-asan
BUILD_FUZZ=$ROOT/build-fuzz

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "installing packages needs root: run as root, or install sudo"
	fi
}

# The arm64 .deb of package $1 in $CACHE/debs, downloaded once (apt shows
# its progress); prints its path, the newest if several.
fetch_arm64_deb() {
	local pkg=$1 debs=$CACHE/debs
	mkdir -p "$debs"
	if ! ls "$debs/${pkg}"_*_arm64.deb >/dev/null 2>&1; then
		say "downloading $pkg (arm64) from Debian"
		(cd "$debs" && apt-get download "$pkg:arm64" 2>&1 |
			grep -v 'Download is performed unsandboxed' >&2 || true)
		ls "$debs/${pkg}"_*_arm64.deb >/dev/null 2>&1 ||
			die "could not download $pkg:arm64; run tools/deps, and check apt's sources"
	fi
	ls "$debs/${pkg}"_*_arm64.deb | sort -V | tail -1
}

# Unpack the .deb $1 into the directory $2, once.
unpack_deb() {
	local deb=$1 dir=$2
	if [ ! -e "$dir/.unpacked" ]; then
		say "unpacking $(basename "$deb")"
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg -x "$deb" "$dir"
		touch "$dir/.unpacked"
	fi
}

# The package an arm64 kernel metapackage ($1, e.g. linux-image-arm64) points
# at today, e.g. linux-image-6.1.0-57-arm64; empty if apt does not know it.
kernel_package() {
	apt-cache depends "$1:arm64" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }' | sed 's/:arm64$//'
}

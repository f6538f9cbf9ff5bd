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

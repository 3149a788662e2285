#!/bin/bash
# kconfig.sh SRC OBJ ARCH FRAGMENT...
# Write OBJ/.config: tinyconfig for ARCH plus the fragments, in order.
# Only rewrites .config when the result differs, so an unchanged config
# does not trigger a rebuild. Fails if a fragment's setting did not stick
# (a typo or an unmet dependency would otherwise pass silently).
set -euo pipefail
src=$1 obj=$2 arch=$3
shift 3
frags=()
for f in "$@"; do frags+=("$(realpath "$f")"); done
set -- "${frags[@]}"
mkdir -p "$obj"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cross=
[ "$arch" = arm64 ] && cross=aarch64-linux-gnu-
mk() { make -s -C "$src" O="$tmp" ARCH="$arch" CROSS_COMPILE="$cross" "$@"; }
mk tinyconfig >/dev/null
(cd "$tmp" && "$src/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" "$@") >"$tmp/merge.log" 2>&1 ||
	{ cat "$tmp/merge.log" >&2; exit 1; }
mk olddefconfig >/dev/null 2>&1
bad=0
for f in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%%=*}
			if grep -q "^$sym=" "$tmp/.config"; then
				echo "kconfig: $f: $line did not stick" >&2; bad=1
			fi ;;
		CONFIG_*=*)
			if ! grep -qx -- "$line" "$tmp/.config"; then
				echo "kconfig: $f: $line did not stick (got: $(grep "^${line%%=*}=" "$tmp/.config" || echo unset))" >&2
				bad=1
			fi ;;
		esac
	done < "$f"
done
[ $bad = 0 ] || exit 1
if ! cmp -s "$tmp/.config" "$obj/.config"; then
	cp "$tmp/.config" "$obj/.config"
	echo "kconfig: wrote $obj/.config"
fi

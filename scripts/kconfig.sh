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
cross=
[ "$arch" = arm64 ] && cross=aarch64-linux-gnu-
# Generating the config takes ~15 s (tinyconfig builds the kconfig tools
# in a scratch dir), so it is skipped when nothing it reads changed: the
# fragments, every Kconfig file of the tree, and the compiler.
key=$( { echo "$arch"; cat "$@"; "${cross}gcc" --version | head -n 1
	 find "$src" -name .git -prune -o -name 'Kconfig*' -type f -print0 |
		sort -z | xargs -0 cat; } | sha256sum | cut -d' ' -f1)
if [ -f "$obj/.config" ] && [ "$(cat "$obj/.config.key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
echo "$key" > "$obj/.config.key"

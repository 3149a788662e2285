#!/bin/bash
# initramfs.sh ARCH SELFTESTS_DIR TESTS_LIST BUSYBOX OUT [EXTRA_DIR]
# Pack busybox, the static selftests and the vmtest scripts into a
# gzip'ed newc cpio. EXTRA_DIR (optional) is copied to /vmtest/extra
# (bench programs, demo VMM, ...); TESTS_LIST may name its programs too.
set -euo pipefail
arch=$1 st=$2 list=$3 busybox=$4 out=$5 extra=${6:-}
here=$(cd "$(dirname "$0")/.." && pwd)
strip=strip
[ "$arch" = arm64 ] && strip=aarch64-linux-gnu-strip

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,vmtest/tests}
cp "$busybox" "$stage/bin/busybox"
cp "$here/vmtest/init" "$stage/init"
cp "$here/vmtest/run-tests" "$here/vmtest/demo.sh" "$here/vmtest/bench.sh" \
	"$stage/vmtest/" 2>/dev/null || true
[ -n "$extra" ] && [ -d "$extra" ] && cp -r "$extra" "$stage/vmtest/extra"

# Every test program the build produced: the programs the selftests'
# Makefile names (programs.list, written by "make selftests"), else every
# executable under $st.
if [ -f "$st/programs.list" ]; then
	mapfile -t built < <(sort "$st/programs.list")
else
	mapfile -t built < <(cd "$st" && find . -type f -perm -u+x ! -name '*.o' \
		-printf '%P\n' | sort)
fi
declare -A listed=()
: > "$stage/vmtest/tests.list"
: > "$stage/vmtest/excluded.list"
while read -r entry tmo rest; do
	case "$entry" in ''|'#'*) continue ;; esac
	# "name@lane[,lane]" lines replace the plain line in those lanes;
	# vmtest/run-tests picks them at run time (the initramfs serves all).
	name=${entry%%@*}
	# A misspelt lane would match no lane: the line would never run.
	if [ "$name" != "$entry" ]; then
		for l in $(echo "${entry#*@}" | tr , ' '); do
			case $l in debug|kasan|soak|bench) ;; *)
				echo "initramfs: $entry in $list: no lane '$l'" >&2
				exit 1 ;;
			esac
		done
	fi
	listed[$name]=1
	if [ "$tmo" = - ] && [ "$name" != "$entry" ]; then
		# Skipped in some lanes only: vmtest/run-tests says so there.
		echo "$entry $tmo $rest" >> "$stage/vmtest/tests.list"
		continue
	fi
	if [ "$tmo" = - ]; then
		echo "$name $rest" >> "$stage/vmtest/excluded.list"
		continue
	fi
	# A listed name that is not a selftest may be a program of EXTRA_DIR
	# (bench/gmem_stall): it then runs as a test like the others.
	if [ ! -x "$st/$name" ] && [ ! -x "${extra:-/nonexistent}/$name" ]; then
		echo "initramfs: $name is listed in $list but was not built" >&2
		exit 1
	fi
	echo "$entry $tmo $rest" >> "$stage/vmtest/tests.list"
done < "$list"
for name in "${built[@]}"; do
	if [ -z "${listed[$name]:-}" ]; then
		echo "initramfs: warning: $name is not in $list; runs with timeout 120" >&2
		echo "$name 120" >> "$stage/vmtest/tests.list"
	fi
done
cut -d' ' -f1 "$stage/vmtest/tests.list" | cut -d@ -f1 | sort -u | while read -r name; do
	mkdir -p "$stage/vmtest/tests/$(dirname "$name")"
	src=$st/$name
	[ -x "$src" ] || src=$extra/$name
	$strip -o "$stage/vmtest/tests/$name" "$src"
done

# A file of its own, renamed into place: two packings at once (a lane's
# guest and the next lane's build, in .ci/run) never mix their output.
tmp=$(mktemp "$out.XXXXXX")
(cd "$stage" && find . | sort | cpio --quiet -o -H newc --owner=0:0) |
	gzip -1 > "$tmp"
mv "$tmp" "$out"
echo "initramfs: $out: $(grep -vc @ "$stage/vmtest/tests.list") tests," \
	"$(wc -l < "$stage/vmtest/excluded.list") excluded," \
	"$(du -h "$out" | cut -f1)"

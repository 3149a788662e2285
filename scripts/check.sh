#!/bin/bash
# check.sh: what a maintainer checks, per patch of series/:
#   1. scripts/checkpatch.pl --strict
#   2. the KVM directories build after the patch (bisectability), x86_64
#      always and arm64 when the patch touches arm64 or generic KVM code;
#      the KVM selftests build when the patch touches them
#   3. on the final tree: sparse (C=2) on every .c file the series touches,
#      W=1 builds of virt/kvm and arch/*/kvm, and make htmldocs
#      SPHINXDIRS=virt; for 3, only warnings the base does not have count.
# Prints a report (also kept in build/logs/check.txt) and exits 1 on any
# finding. CHECK_SKIP="docs bisect sparse w1" skips parts; CHECK_FROM=N
# builds only patches N and later (checkpatch still reads every patch).
set -uo pipefail
# Debian's python3 (with python3-ply for checkpatch's SPDX check and
# python3-sphinx for htmldocs) must win over a pyenv or venv python3.
export PATH="/usr/bin:/bin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$here/build/linux
work=$here/build/check
logs=$here/build/logs
report=$logs/check.txt
mkdir -p "$work" "$logs"
: > "$report"
skip=" ${CHECK_SKIP:-} "
jobs=$(nproc)
cc="gcc"
command -v ccache >/dev/null && cc="ccache gcc"
fail=0

say() { echo "$*" | tee -a "$report"; }
finding() { say "  FAIL: $*"; fail=1; }

# A worktree so that checking never touches the developer's tree.
wt=$work/tree
if [ ! -d "$wt/.git" ] && [ ! -f "$wt/.git" ]; then
	git -C "$tree" worktree add -q --detach "$wt" base
fi
commits=$(git -C "$tree" rev-list --reverse base..HEAD)

# kbuild in the worktree for ARCH with the x86/arm64 test config.
kb() {
	local arch=$1 obj=$work/obj-$1
	shift
	local cross=
	[ "$arch" = arm64 ] && cross=aarch64-linux-gnu-
	# The config is made once, from the tree as first checked out: the
	# options that the series adds (and the test configs enable) are
	# turned on before every build, so that each patch, and the final
	# tree after a build at the base, builds what they select. Where the
	# checked-out tree does not know them, kbuild drops them again.
	local o
	if [ -f "$obj/.config" ]; then
		for o in $series_opts; do
			"$wt/scripts/config" --file "$obj/.config" -e "$o"
		done
	fi
	make -s -C "$wt" O="$obj" ARCH="$arch" CROSS_COMPILE=$cross \
		CC="${cc/gcc/${cross}gcc}" -j"$jobs" "$@"
}
# Options that patches of the series add: the config is made once, from
# the tree as first checked out (the base or patch 1), which does not know
# them yet, so they are left out of it and turned on by kb() before every
# build instead.
series_opts="KVM_SW_PROTECTED_VM KVM_RANGE_STORE_KUNIT_TEST"
kconfig() {
	local arch=$1 f frags=()
	[ -f "$work/obj-$arch/.config" ] && return 0
	for f in common $arch debug; do
		grep -vE "^CONFIG_(${series_opts// /|})=" "$here/config/$f.config" \
			> "$work/$f-$arch.config"
		frags+=("$work/$f-$arch.config")
	done
	# A config that fails would leave kbuild to make a default one,
	# without KVM: every KVM build would then pass without compiling.
	if ! "$here/scripts/kconfig.sh" "$wt" "$work/obj-$arch" "$arch" \
		"${frags[@]}" >/dev/null; then
		finding "kconfig $arch failed"
		exit 1
	fi
}
kvm_dirs() { [ "$1" = arm64 ] && echo "virt/kvm/ arch/arm64/kvm/" || echo "virt/kvm/ arch/x86/kvm/"; }

say "== checkpatch --strict and per-patch builds"
n=0
for c in $commits; do
	n=$((n + 1))
	subj=$(git -C "$tree" log -1 --format=%s "$c")
	say "[$n] $subj"
	out=$(git -C "$tree" format-patch -1 --stdout "$c" |
		"$tree/scripts/checkpatch.pl" --strict --no-tree -q --terse \
		--ignore FILE_PATH_CHANGES - 2>&1 | grep -v '^total: 0 errors, 0 warnings, 0 checks')
	if [ -n "$out" ]; then
		finding "checkpatch:"
		echo "$out" | sed 's/^/    /' | tee -a "$report"
	else
		say "  checkpatch: clean"
	fi
	case "$skip" in *" bisect "*) continue ;; esac
	[ "$n" -lt "${CHECK_FROM:-1}" ] && continue
	git -C "$wt" checkout -q --detach "$c"
	files=$(git -C "$tree" show --format= --name-only "$c")
	arches=x86_64
	echo "$files" | grep -qE '^(arch/arm64|virt/kvm|include/)' && arches="x86_64 arm64"
	for a in $arches; do
		kconfig "$a"
		if out=$(kb "$a" olddefconfig prepare 2>&1 && kb "$a" $(kvm_dirs "$a") 2>&1) &&
		   [ -f "$work/obj-$a/virt/kvm/kvm_main.o" ]; then
			say "  build $a KVM: ok"
		else
			finding "build $a KVM:"
			echo "$out" | grep -E 'error|warning' | head -20 | sed 's/^/    /' | tee -a "$report"
		fi
	done
	if echo "$files" | grep -q '^tools/testing/selftests/kvm/'; then
		hdr=$work/hdr-x86_64
		if out=$(make -s -C "$wt" O="$hdr" ARCH=x86_64 headers_install 2>&1 &&
			 make -s -C "$wt/tools/testing/selftests/kvm" OUTPUT="$work/st" \
			 KHDR_INCLUDES="-isystem $hdr/usr/include" -j"$jobs" 2>&1); then
			say "  build selftests: ok"
		else
			finding "build selftests:"
			echo "$out" | grep -E 'error|warning' | head -20 | sed 's/^/    /' | tee -a "$report"
		fi
	fi
done
git -C "$wt" checkout -q --detach "$(git -C "$tree" rev-parse HEAD)"

# New warnings of a command: run it at the base and at HEAD, compare the
# warning lines with line numbers stripped.
warnings() { grep -E 'warning:|error:' | sed -E 's/:[0-9]+:[0-9]+:/:/; s/:[0-9]+:/:/' | sort -u; }
touched_c=$(git -C "$tree" diff --name-only base HEAD -- '*.c' |
	grep -E '^(virt|arch/(x86|arm64)|mm|include|kernel|lib)/' || true)

compare() {	# compare NAME CMD...: CMD runs in the worktree at base and HEAD
	local name=$1
	shift
	git -C "$wt" checkout -q --detach base
	"$@" 2>&1 | warnings > "$work/$name.base"
	git -C "$wt" checkout -q --detach "$(git -C "$tree" rev-parse HEAD)"
	"$@" 2>&1 | warnings > "$work/$name.head"
	local new
	new=$(comm -13 "$work/$name.base" "$work/$name.head")
	if [ -n "$new" ]; then
		finding "$name: new warnings:"
		echo "$new" | head -40 | sed 's/^/    /' | tee -a "$report"
	else
		say "  $name: no new warnings ($(wc -l < "$work/$name.head") at HEAD, $(wc -l < "$work/$name.base") at base)"
	fi
}

# sparse on the touched objects that exist in the worktree as checked out
# (files the series adds are missing at base, and make -k goes on).
sparse_objs() {
	local o=() f
	for f in "${objs[@]}"; do
		[ -f "$wt/${f%.o}.c" ] && o+=("$f")
	done
	kb x86_64 -k C=2 CHECK="sparse" "${o[@]}"
}

say "== final tree"
case "$skip" in *" sparse "*) ;; *)
	objs=()
	for f in $touched_c; do
		case "$f" in arch/arm64/*) continue ;; esac
		objs+=("${f%.c}.o")
	done
	if [ ${#objs[@]} -gt 0 ]; then
		kconfig x86_64
		compare sparse sparse_objs
	fi ;;
esac
case "$skip" in *" w1 "*) ;; *)
	kconfig x86_64
	compare w1-x86_64 kb x86_64 W=1 virt/kvm/ arch/x86/kvm/
	kconfig arm64
	compare w1-arm64 kb arm64 W=1 virt/kvm/ arch/arm64/kvm/ ;;
esac
case "$skip" in *" docs "*) ;; *)
	if python3 -c 'import sphinx' 2>/dev/null; then
		compare htmldocs make -s -C "$wt" O="$work/docs" SPHINXDIRS=virt htmldocs
	else
		say "  htmldocs: skipped (python3-sphinx is not installed; 'apt-get install python3-sphinx python3-sphinx-rtd-theme')"
	fi ;;
esac

if [ $fail = 0 ]; then say "check: clean"; else say "check: FINDINGS (report: $report)"; fi
exit $fail

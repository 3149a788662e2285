#!/bin/bash
# tree.sh: make build/linux a git tree whose first commit (tag "base") is
# the untouched base and whose further commits are series/, applied with
# git am. The base is Debian's linux-source-6.1 tarball, or LINUX_SRC
# (a 6.1.y tree of your own) when set.
#
# An existing tree is left alone when its commits already are the series;
# it is rebuilt when it is only behind the series; and it is refused (exit
# 1) when it has commits or edits that series/ does not have, so that
# unexported work is never thrown away. With --use-as-is (what the build
# targets use) such a tree is built as it is, with a note.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tree=${TREE:-$here/build/linux}
series=$here/series
. "$series/BASE"

patches() { ls "$series"/[0-9][0-9][0-9][0-9]-*.patch 2>/dev/null | grep -v '/0000-' || true; }
series_ids() {
	local p
	for p in $(patches); do git patch-id --stable < "$p" | cut -d' ' -f1; done
}
tree_ids() {
	local c
	for c in $(git -C "$tree" rev-list --reverse --no-merges base..HEAD); do
		git -C "$tree" show "$c" | git patch-id --stable | cut -d' ' -f1
	done
}

if [ -d "$tree/.git" ]; then
	want=$(series_ids)
	have=$(tree_ids)
	dirty=$(git -C "$tree" status --porcelain --untracked-files=no | head -5)
	if [ "$want" = "$have" ] && [ -z "$dirty" ]; then
		echo "tree: $tree is up to date with series/ ($(patches | wc -l) patches)"
		exit 0
	fi
	extra=$(comm -13 <(echo "$want" | sort) <(echo "$have" | sort) | grep -c . || true)
	if [ -n "$dirty" ] || [ "$extra" != 0 ]; then
		if [ "${1:-}" = --use-as-is ]; then
			echo "tree: note: building $tree as it is:" \
				"${extra} commit(s)${dirty:+ and uncommitted edits} not in series/"
			exit 0
		fi
		echo "tree: $tree has work that series/ does not have" >&2
		[ -n "$dirty" ] && echo "tree: uncommitted edits:" >&2 && echo "$dirty" >&2
		[ "$extra" != 0 ] && echo "tree: $extra commit(s) not in series/" >&2
		echo "tree: commit and 'make export' it, or remove $tree to start over" >&2
		exit 1
	fi
	echo "tree: $tree is behind series/; re-applying"
	git -C "$tree" am --abort >/dev/null 2>&1 || true
	git -C "$tree" reset -q --hard base
else
	mkdir -p "$(dirname "$tree")"
	tmp=$tree.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	if [ -n "${LINUX_SRC:-}" ]; then
		echo "tree: base is LINUX_SRC=$LINUX_SRC"
		if [ -d "$LINUX_SRC/.git" ]; then
			git -C "$LINUX_SRC" archive HEAD | tar -x -C "$tmp"
		else
			rsync -a --exclude=.git "$LINUX_SRC/" "$tmp/"
		fi
		msg="Base: $(make -s -C "$tmp" kernelversion) from $LINUX_SRC"
	else
		[ -f "$tarball" ] || { echo "tree: $tarball missing: run 'make deps'" >&2; exit 1; }
		sum=$(sha256sum "$tarball" | cut -d' ' -f1)
		if [ "$sum" != "$sha256" ]; then
			echo "tree: warning: $tarball is not the recorded base" >&2
			echo "tree: (sha256 $sum, series/BASE says $sha256);" \
				"installed: $(dpkg-query -W -f='${Version}' "$package" 2>/dev/null)" >&2
		fi
		tar -xf "$tarball" -C "$tmp" --strip-components=1
		msg="Linux $version (Debian $package $package_version)"
	fi
	(
		cd "$tmp"
		git init -q
		git config user.name "${GIT_AUTHOR_NAME:-guest_memfd workshop}"
		git config user.email "${GIT_AUTHOR_EMAIL:-workshop@guest-memfd.invalid}"
		# Debian's tarball ends its .gitignore with "/*": force-add the
		# whole base. Files that later commits add need "git add -f".
		git add -f -A .
		git commit -q -m "$msg"
		git tag base
	)
	mv "$tmp" "$tree"
	echo "tree: base committed in $tree"
fi

n=0
for p in $(patches); do
	if ! out=$(git -C "$tree" am -q --keep-cr "$p" 2>&1); then
		echo "tree: series/$(basename "$p") does not apply to this base:" >&2
		echo "$out" | grep -E "^(error|Patch failed|patch does not apply)" | head -10 >&2
		git -C "$tree" am --abort >/dev/null 2>&1 || true
		exit 1
	fi
	n=$((n + 1))
done
# New commits take the series' author, whom its Signed-off-by lines name
# (checkpatch wants From: and Signed-off-by: to agree).
if [ "$n" -gt 0 ] && [ -z "${GIT_AUTHOR_NAME:-}" ]; then
	author=$(git -C "$tree" log -1 --format=%an)
	email=$(git -C "$tree" log -1 --format=%ae)
	git -C "$tree" config user.name "$author"
	git -C "$tree" config user.email "$email"
fi
echo "tree: applied $n patches; $tree is ready"

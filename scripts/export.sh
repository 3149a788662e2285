#!/bin/bash
# export.sh [REV]: regenerate series/ from the commits of build/linux
# from the tag "base" up to REV (default HEAD). The cover letter keeps its subject and prose; its shortlog
# and diffstat are regenerated.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tree=${TREE:-$here/build/linux}
series=$here/series
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
	echo "export: $tree has uncommitted edits; commit them first" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tree" format-patch -q --zero-commit --no-signature --cover-letter \
	--subject-prefix="PATCH 6.1.y" -o "$tmp" "base..${1:-HEAD}"
new_cover=$(ls "$tmp"/0000-*.patch)
old_cover=$(ls "$series"/0000-*.patch 2>/dev/null | head -1 || true)
if [ -n "$old_cover" ]; then
	python3 - "$old_cover" "$new_cover" <<'PY'
import re, sys
old = open(sys.argv[1]).read()
new = open(sys.argv[2]).read()
subj = re.search(r"^Subject: \[[^]]*\] (.*(?:\n .*)*)", old, re.M).group(1)
body = old.split("\n\n", 1)[1]
# The prose ends where git's shortlog starts ("Name (N):").
m = re.search(r"^\S.* \(\d+\):$", body, re.M)
blurb = body[:m.start()].rstrip() if m else body.rstrip()
new = new.replace("*** SUBJECT HERE ***", subj, 1)
new = new.replace("*** BLURB HERE ***", blurb, 1)
# A stable date: the old cover's, so that an export of unchanged commits
# changes nothing.
d = re.search(r"^Date: .*$", old, re.M)
if d:
    new = re.sub(r"^Date: .*$", lambda _: d.group(0), new, count=1, flags=re.M)
open(sys.argv[2], "w").write(new)
PY
fi
rm -f "$series"/[0-9][0-9][0-9][0-9]-*.patch
mv "$tmp"/*.patch "$series"/
echo "export: series/ now has $(ls "$series"/[0-9]*.patch | grep -vc '/0000-') patches + cover letter"

#!/bin/sh
# bench.sh: run every benchmark program of /vmtest/extra/bench in turn
# and print its "BENCH name value unit" lines. A program that fails
# without saying why gets a BENCHERR line for it; the host side
# (scripts/bench-report.py) turns the lines into the report.
echo "vmtest: bench begin"
echo "BENCHINFO kernel $(uname -r) $(uname -m), $(nproc) CPU(s), $(grep MemTotal /proc/meminfo | tr -s ' ')"
for prog in /vmtest/extra/bench/*; do
	[ -x "$prog" ] || continue
	name=${prog##*/}
	echo "vmtest: bench $name"
	"$prog" > /tmp/bench.out 2>&1 </dev/null
	rc=$?
	cat /tmp/bench.out
	if [ $rc != 0 ] && ! grep -q '^BENCHERR' /tmp/bench.out; then
		echo "BENCHERR $name: exit status $rc"
	fi
done
echo "vmtest: bench end"

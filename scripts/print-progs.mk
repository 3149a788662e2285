# Loaded after the KVM selftests' Makefile ("make -f Makefile -f this"):
# prints the programs that Makefile builds for ARCH, one per line,
# relative to OUTPUT. scripts/initramfs.sh packs those and no others, so
# that a binary left in OUTPUT by an older series (a test since moved or
# renamed) does not run.
print-progs:
	@for p in $(TEST_GEN_PROGS); do echo "$${p#$(OUTPUT)/}"; done

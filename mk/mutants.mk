# mutants.mk - mutation testing (not part of `make test`).
#   make mutants                     every mutant in tests/mutants/mutants.txt,
#                                    each applied to a scratch copy of the tree,
#                                    built and run against the fast tests
#   make mutants MUTANTS_ARGS=...    passes options to tests/mutants/run.py, e.g.
#                                    --filter elf-, --no-san, --kvm no, --check
MUTANTS_ARGS ?=

.PHONY: mutants
mutants:
	python3 tests/mutants/run.py -j$(or $(JOBS),2) $(MUTANTS_ARGS)

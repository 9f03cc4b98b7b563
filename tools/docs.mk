# The measurement pages in docs/ (included by the top-level Makefile). Each page's tables and
# notes are written by the command that measures them; `make docs` runs all five, one after
# the other (never in parallel, so that nothing competes with the benchmark's timing):
#   make docs              all five pages (a few minutes: mostly the fuzz run and make bench)
#   make docs-size         docs/size.md     (tools/size.py --write: the linked images' table
#                                            and the unlinked objects')
#   make docs-stack        docs/stack.md    (tools/stack.py --write: static, and painted next
#                                            to it)
#   make docs-firmware     docs/firmware.md (tools/firmware.py --page: the images)
#   make docs-bench        docs/bench.md    (`make bench`, bench/bench_run.py and bench_net.py
#                                            --write; about 3 min)
#   make docs-fuzz         docs/fuzz.md     (`make fuzz-report`: each harness DOCS_FUZZ_SECONDS s)
# The linked images are measured once for the three pages that use them: tools/firmware.py
# writes $(BUILD)/firmware-measured.json (tools/firmware.mk measures again first when a
# source changed since), and size.py, stack.py and firmware.py --page read it.
# `make test` does not rewrite them: it checks size, stack and the benchmark's instruction
# counts against what they publish, with a tolerance (tools/budget.py; the size-budget,
# stack-budget and bench-budget suites of tools/firmware.mk and bench/bench.mk). A page
# keeps its prose outside the <!-- TAG:begin --> ... <!-- TAG:end --> blocks the command
# rewrites. protocol.md is written by hand.

DOCS_DIR          ?= docs
DOCS_FUZZ_SECONDS ?= 60

.PHONY: docs docs-size docs-stack docs-firmware docs-bench docs-fuzz

docs:
	@$(MAKE) --no-print-directory docs-size
	@$(MAKE) --no-print-directory docs-stack
	@$(MAKE) --no-print-directory docs-firmware
	@$(MAKE) --no-print-directory docs-bench
	@$(MAKE) --no-print-directory docs-fuzz
	@echo "docs: $(DOCS_DIR)/size.md, stack.md, firmware.md, bench.md and fuzz.md rewritten"

docs-size: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/size.py --write $(DOCS_DIR)/size.md --measured $(FIRMWARE_MEASURED)

docs-stack: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/stack.py --write $(DOCS_DIR)/stack.md --measured $(FIRMWARE_MEASURED)

docs-bench:
	@$(MAKE) --no-print-directory bench BENCH_WRITE=$(DOCS_DIR)/bench.md

docs-fuzz:
	@$(MAKE) --no-print-directory fuzz-report SECONDS=$(DOCS_FUZZ_SECONDS) FUZZ_REPORT=$(DOCS_DIR)/fuzz.md

# Proof for firmware: code size, stack, link audit, compiler matrix, other ABIs.
# Included by the top-level Makefile; every variable can be overridden.
#   make size          code-size tables (Markdown): linked images (from test-firmware's
#                      measurements) and unlinked objects for Cortex-M0+/M4F and RV32IMC (its
#                      PSA row needs mbedTLS's headers: fetches the back ends' sources once)
#   make stack         worst-case stack table per entry point (fetches the back ends' sources once),
#                      and the painted peaks of test-firmware's measurements next to it
#   make size-budget   measure the code size and check the linked and unlinked figures against
#                      docs/size.md (no worse than published + the larger of 64 B and 2 %, and
#                      the issue's targets once met; tools/budget.py)
#   make stack-budget  measure the stack and check every figure against docs/stack.md
#                      (no worse than published + 64 B; 1024 B on Cortex-M4F stays met once met),
#                      and the painted peaks (the issue's painted targets once met; painted at
#                      most static)
#   make size-check    both budgets
#   make size-write    rewrite docs/size.md and docs/stack.md (part of `make docs`, tools/docs.mk)
#   make audit         what the implementation object links against (tools/audit.sh; with the
#                      ICBU_MEM* routed: no libc symbol, host/M0+/M4F/RV32 at -O0..-O3)
#   make compilers     gcc/clang/arm-none-eabi-gcc/avr-gcc at -O0..-O3 and g++/clang++ over every
#                      configuration, -Werror (tools/compilers.sh)
#   make test-cross    unit tests on i386, armhf (qemu) and s390x (qemu, big endian)
#   make test-firmware linked images on emulated MCUs (tools/firmware.py): Cortex-M0+ and
#                      Cortex-M4F on qemu-system-arm -M mps2-an385/an386 (newlib-nano), RV32IMAC
#                      on qemu-system-riscv32 -M virt (picolibc), ATmega2560 (16-bit int and
#                      size_t) on qemu-system-avr -M mega2560 (avr-libc; the sign
#                      configurations: the full client does not fit in its 8 kB of SRAM), in
#                      each configuration (build
#                      and sign; full client, which runs icbu_exchange and icbu_report over an
#                      in-memory transport against canned gateway answers; full client +
#                      decoder), with a small custom hash and some with mbedTLS; every signed
#                      body and outcome checked against the host twin, tests/check_body.py and
#                      tests/firmware/fw_answers.h; flash (library + each libgcc/libc helper)
#                      and painted stack measured into $(BUILD)/firmware-measured.json;
#                      64-bit division helpers in the library object are "note" lines
#                      (failures with FIRMWARE_STRICT_DIV=1)
#   make docs-firmware rewrite docs/firmware.md's block from those measurements (measuring
#                      again first when a source changed since: the rule below)
# `make test` runs audit, compilers, test-firmware, size-budget and stack-budget (through
# EXTRA_SUITES).
# Packages: gcc-arm-none-eabi, gcc-riscv64-unknown-elf (size); libnewlib-arm-none-eabi,
# picolibc-riscv64-unknown-elf, qemu-system-arm, qemu-system-misc, gcc-avr, avr-libc
# (test-firmware); deb-src
# lines for `apt-get source mbedtls bearssl` (size's PSA row, stack, test-firmware); see
# tools/cross.sh for test-cross.

BUILD        ?= build
PYTHON       ?= python3
DOCS_DIR     ?= docs
ARM_CC       ?= arm-none-eabi-gcc
ARM_SIZE     ?= arm-none-eabi-size
RISCV_CC     ?= riscv64-unknown-elf-gcc
AVR_CC       ?= avr-gcc
HOST_CC      ?= gcc
BACKEND_SRC  ?= $(BUILD)/backend-src
CROSS_ARCHES ?= i386 armhf s390x
FIRMWARE_ENV  = BUILD=$(BUILD) ARM_CC=$(ARM_CC) ARM_SIZE=$(ARM_SIZE) RISCV_CC=$(RISCV_CC) \
                AVR_CC=$(AVR_CC) HOST_CC=$(HOST_CC) BACKEND_SRC=$(BACKEND_SRC)
# The linked images' measurements (tools/firmware.py), read by size.py and stack.py
FIRMWARE_MEASURED := $(BUILD)/firmware-measured.json
FIRMWARE_INPUTS   := icbu_reflow.h icbu_reflow.c tools/firmware.py tests/check_body.py \
                     tests/example_order.h tests/data/example_order.json $(wildcard tests/firmware/*)

.PHONY: size stack size-budget stack-budget size-check size-write backend-src audit compilers test-cross \
        test-firmware docs-firmware

size: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/size.py --measured $(FIRMWARE_MEASURED)

backend-src: $(BACKEND_SRC)/.fetched
$(BACKEND_SRC)/.fetched: tools/fetch_backend_src.sh
	@sh tools/fetch_backend_src.sh $(BACKEND_SRC) && touch $@

stack: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/stack.py --verbose --measured $(FIRMWARE_MEASURED)

size-budget: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/size.py --budget $(DOCS_DIR)/size.md --measured $(FIRMWARE_MEASURED)

stack-budget: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/stack.py --budget $(DOCS_DIR)/stack.md --measured $(FIRMWARE_MEASURED)

size-check: backend-src $(FIRMWARE_MEASURED)
	@rc=0; $(FIRMWARE_ENV) $(PYTHON) tools/size.py --budget $(DOCS_DIR)/size.md --measured $(FIRMWARE_MEASURED) || rc=1; \
	 $(FIRMWARE_ENV) $(PYTHON) tools/stack.py --budget $(DOCS_DIR)/stack.md --measured $(FIRMWARE_MEASURED) || rc=1; \
	 exit $$rc

size-write: backend-src $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/size.py --write $(DOCS_DIR)/size.md --measured $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/stack.py --write $(DOCS_DIR)/stack.md --measured $(FIRMWARE_MEASURED)

audit:
	@BUILD=$(BUILD) ARM_CC=$(ARM_CC) tools/audit.sh

compilers:
	@BUILD=$(BUILD) tools/compilers.sh

test-cross:
	@BUILD=$(BUILD) tools/cross.sh $(CROSS_ARCHES)

test-firmware: backend-src
	@$(FIRMWARE_ENV) $(PYTHON) tools/firmware.py

# The linked images' measurements, the one source of the pages' linked figures: written by
# every run of test-firmware, and by this rule when they are older than a source (its
# checks then go to $(BUILD)/firmware.log; failed checks are recorded in the file, and the
# pages' commands refuse to publish them).
$(FIRMWARE_MEASURED): $(FIRMWARE_INPUTS) $(BACKEND_SRC)/.fetched
	@mkdir -p $(BUILD)
	@echo "firmware: measuring the linked images (tools/firmware.py, about a minute; its checks: $(BUILD)/firmware.log)"
	@$(FIRMWARE_ENV) $(PYTHON) tools/firmware.py > $(BUILD)/firmware.log 2>&1 || tail -n 3 $(BUILD)/firmware.log

docs-firmware: $(FIRMWARE_MEASURED)
	@$(FIRMWARE_ENV) $(PYTHON) tools/firmware.py --page $(DOCS_DIR)/firmware.md --json $(FIRMWARE_MEASURED)

# test-firmware before size-budget and stack-budget: they read the measurements it writes
# (measured once; they measure again only when a source changed since).
EXTRA_SUITES += audit="BUILD=$(BUILD) ARM_CC=$(ARM_CC) tools/audit.sh" \
                compilers="BUILD=$(BUILD) tools/compilers.sh" \
                test-firmware="$(MAKE) --no-print-directory -s test-firmware BUILD=$(BUILD)" \
                size-budget="$(MAKE) --no-print-directory -s size-budget BUILD=$(BUILD)" \
                stack-budget="$(MAKE) --no-print-directory -s stack-budget BUILD=$(BUILD)" \
                test-cross="BUILD=$(BUILD) tools/cross.sh $(CROSS_ARCHES)"

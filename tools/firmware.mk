# Proof for firmware: code size, stack, link audit, compiler matrix, other ABIs.
# Included by the top-level Makefile; every variable can be overridden.
#   make size          code-size table (Markdown) for Cortex-M0+/M4F and RV32IMC (its PSA row
#                      needs mbedTLS's headers: fetches the back ends' sources once)
#   make stack         worst-case stack table per entry point (fetches the back ends' sources once)
#   make size-check    fail (with a diff) if README.md's size or stack table is out of date
#   make size-write    rewrite both tables in README.md
#   make audit         what the implementation object links against (tools/audit.sh)
#   make compilers     gcc/clang/g++/clang++ over every configuration (tools/compilers.sh)
#   make test-cross    unit tests on i386, armhf (qemu) and s390x (qemu, big endian)
# `make test` runs audit and compilers (through EXTRA_SUITES).
# Packages: gcc-arm-none-eabi, gcc-riscv64-unknown-elf (size); deb-src lines for
# `apt-get source mbedtls bearssl` (size's PSA row, stack); see tools/cross.sh for test-cross.

BUILD        ?= build
PYTHON       ?= python3
README       ?= README.md
ARM_CC       ?= arm-none-eabi-gcc
ARM_SIZE     ?= arm-none-eabi-size
RISCV_CC     ?= riscv64-unknown-elf-gcc
HOST_CC      ?= gcc
BACKEND_SRC  ?= $(BUILD)/backend-src
CROSS_ARCHES ?= i386 armhf s390x
FIRMWARE_ENV  = BUILD=$(BUILD) ARM_CC=$(ARM_CC) ARM_SIZE=$(ARM_SIZE) RISCV_CC=$(RISCV_CC) \
                HOST_CC=$(HOST_CC) BACKEND_SRC=$(BACKEND_SRC)

.PHONY: size stack size-check size-write backend-src audit compilers test-cross

size: backend-src
	@$(FIRMWARE_ENV) $(PYTHON) tools/size.py

backend-src: $(BACKEND_SRC)/.fetched
$(BACKEND_SRC)/.fetched: tools/fetch_backend_src.sh
	@sh tools/fetch_backend_src.sh $(BACKEND_SRC) && touch $@

stack: backend-src
	@$(FIRMWARE_ENV) $(PYTHON) tools/stack.py --verbose

size-check: backend-src
	@rc=0; $(FIRMWARE_ENV) $(PYTHON) tools/size.py --check $(README) || rc=1; \
	 $(FIRMWARE_ENV) $(PYTHON) tools/stack.py --check $(README) || rc=1; exit $$rc

size-write: backend-src
	@$(FIRMWARE_ENV) $(PYTHON) tools/size.py --write $(README)
	@$(FIRMWARE_ENV) $(PYTHON) tools/stack.py --write $(README)

audit:
	@BUILD=$(BUILD) ARM_CC=$(ARM_CC) tools/audit.sh

compilers:
	@BUILD=$(BUILD) tools/compilers.sh

test-cross:
	@BUILD=$(BUILD) tools/cross.sh $(CROSS_ARCHES)

EXTRA_SUITES += audit="BUILD=$(BUILD) ARM_CC=$(ARM_CC) tools/audit.sh" \
                compilers="BUILD=$(BUILD) tools/compilers.sh" \
                size-check="$(MAKE) --no-print-directory -s size-check" \
                test-cross="BUILD=$(BUILD) tools/cross.sh $(CROSS_ARCHES)"

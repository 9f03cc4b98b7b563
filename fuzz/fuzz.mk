# libFuzzer harnesses for icbu_reflow.h (included by the top-level Makefile).
#   make fuzz [SECONDS=60]   each harness SECONDS seconds (corpus grows in fuzz/corpus-run/)
#   make fuzz-smoke          each harness about 20 seconds
#   make fuzz-report [SECONDS=60] [FUZZ_REPORT=docs/fuzz.md]
#                            `make fuzz`, then its table (tools/fuzz_report.py), written into
#                            FUZZ_REPORT's fuzz-report block when given (what `make docs` runs)
#   make fuzz-regress        every seed and saved regression input once, and the coverage
#                            the seeds reach (quick; CI)
#   make fuzz-build          just the binaries, in $(BUILD)/fuzz/
# Crashes are written to $(BUILD)/fuzz/artifacts/<harness>/; copy one to
# fuzz/regressions/<harness>/ to keep it as a regression test.
# Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev).

BUILD         ?= build
FUZZ_CC       ?= clang
FUZZ_CFLAGS   ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_HARNESSES := fuzz_http fuzz_response fuzz_decode fuzz_roundtrip
FUZZ_MAXLEN_fuzz_http      := 8192
FUZZ_MAXLEN_fuzz_response  := 4096
FUZZ_MAXLEN_fuzz_decode    := 8192
FUZZ_MAXLEN_fuzz_roundtrip := 8192
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/,$(FUZZ_HARNESSES))
FUZZ_RUN_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
# The coverage (libFuzzer's "cov:") each harness's seeds must reach in fuzz-regress, about
# half of what they reach (clang 14: 254, 148, 206, 823): a harness that returns early, or
# stops calling the library, reaches a handful and every input still "passes".
FUZZ_MIN_COV_fuzz_http      := 120
FUZZ_MIN_COV_fuzz_response  := 70
FUZZ_MIN_COV_fuzz_decode    := 100
FUZZ_MIN_COV_fuzz_roundtrip := 400

FUZZ_REPORT   ?=

.PHONY: fuzz fuzz-smoke fuzz-report fuzz-regress fuzz-build fuzz-corpus
fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h icbu_reflow.h
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ $<

# fuzz_roundtrip also links the small build of the library (fuzz/fuzz_small.c).
$(BUILD)/fuzz/fuzz_roundtrip: fuzz/fuzz_roundtrip.c fuzz/fuzz_small.c fuzz/fuzz_common.h icbu_reflow.h
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ fuzz/fuzz_roundtrip.c fuzz/fuzz_small.c

# $(1): seconds per harness. Last line "N passed, 0 failed" (one per harness run without
# a new crash; a crash stops it with exit status 1).
define fuzz_run
	@set -e; n=0; for h in $(FUZZ_HARNESSES); do \
	    mkdir -p fuzz/corpus-run/$$h $(BUILD)/fuzz/artifacts/$$h; \
	    maxlen=$$(case $$h in fuzz_http) echo $(FUZZ_MAXLEN_fuzz_http);; fuzz_response) echo $(FUZZ_MAXLEN_fuzz_response);; \
	        fuzz_decode) echo $(FUZZ_MAXLEN_fuzz_decode);; *) echo $(FUZZ_MAXLEN_fuzz_roundtrip);; esac); \
	    before=$$(ls $(BUILD)/fuzz/artifacts/$$h | wc -l); \
	    echo "== $$h: $(1) s, -max_len=$$maxlen"; \
	    $(BUILD)/fuzz/$$h $(FUZZ_RUN_FLAGS) -max_total_time=$(1) -max_len=$$maxlen \
	        -artifact_prefix=$(BUILD)/fuzz/artifacts/$$h/ \
	        fuzz/corpus-run/$$h fuzz/corpus/$$h 2>&1 | \
	        grep -E '^(#[0-9]+ *DONE|Done|INFO: -max_total_time|==[0-9]+==ERROR|SUMMARY|.*property failed|stat::number_of_executed_units|stat::peak_rss_mb)' || true; \
	    test "$$(ls $(BUILD)/fuzz/artifacts/$$h | wc -l)" = "$$before" || \
	        { echo "$$h: new crash in $(BUILD)/fuzz/artifacts/$$h/:"; ls -t $(BUILD)/fuzz/artifacts/$$h | head -n 3; exit 1; }; \
	    n=$$((n + 1)); \
	done; echo "$$n passed, 0 failed"
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

# The log keeps make's exit status as its last line ("exit N") for the report.
fuzz-report: $(FUZZ_BINS)
	@{ $(MAKE) --no-print-directory -s fuzz SECONDS=$(SECONDS) BUILD=$(BUILD) 2>&1; echo "exit $$?"; } | \
	    tee $(BUILD)/fuzz/report.log
	@$(PYTHON) tools/fuzz_report.py --log $(BUILD)/fuzz/report.log --seconds $(SECONDS) --cc $(FUZZ_CC) \
	    $(if $(FUZZ_REPORT),--write $(FUZZ_REPORT))

# Every seed and every saved regression input, once each, and the coverage the seeds
# reach (FUZZ_MIN_COV_*); last line "N passed, N failed".
fuzz-regress: $(FUZZ_BINS)
	@pass=0; fail=0; for h in $(FUZZ_HARNESSES); do \
	    for f in fuzz/corpus/$$h/* fuzz/regressions/$$h/*; do \
	        [ -f "$$f" ] || continue; \
	        if $(BUILD)/fuzz/$$h "$$f" >$(BUILD)/fuzz/last.log 2>&1; then pass=$$((pass+1)); \
	        else fail=$$((fail+1)); echo "FAILED: $$h $$f"; tail -n 30 $(BUILD)/fuzz/last.log; fi; \
	    done; \
	    min=$$(case $$h in fuzz_http) echo $(FUZZ_MIN_COV_fuzz_http);; fuzz_response) echo $(FUZZ_MIN_COV_fuzz_response);; \
	        fuzz_decode) echo $(FUZZ_MIN_COV_fuzz_decode);; *) echo $(FUZZ_MIN_COV_fuzz_roundtrip);; esac); \
	    cov=$$($(BUILD)/fuzz/$$h -runs=0 fuzz/corpus/$$h 2>&1 | sed -n 's/.*INITED cov: \([0-9]*\) .*/\1/p' | head -n 1); \
	    if [ "$${cov:-0}" -ge "$$min" ]; then pass=$$((pass+1)); \
	    else fail=$$((fail+1)); echo "FAILED: $$h: its seeds reach coverage $${cov:-?}, under $$min (does it return early?)"; fi; \
	done; echo "$$pass passed, $$fail failed"; test $$fail = 0

fuzz-corpus:
	python3 fuzz/make_corpus.py

# `make test` runs every seed and regression input once, then each harness ~20 s.
EXTRA_SUITES += fuzz-regress="$(MAKE) --no-print-directory -s fuzz-regress BUILD=$(BUILD)" \
                fuzz-smoke="$(MAKE) --no-print-directory -s fuzz-smoke BUILD=$(BUILD)"

#!/bin/sh
# What the implementation object links against, asserted (run by `make test`).
#
# For each hash back end (mbedtls, psa, bearssl, custom) the implementation alone
# is compiled on the host and its undefined symbols (nm -u) are checked:
#   - no heap (malloc, calloc, realloc, free, strdup, ...)
#   - no stdio (printf, fprintf, puts, fopen, ... and the _chk variants)
#   - no time (time, gmtime, localtime, mktime, clock_gettime, ...)
#   - no locale (setlocale, localeconv, the ctype tables behind isalpha & co,
#     strtod/strtol & co, atoi, sscanf, strcoll, ...)
#   - the back end's symbols are exactly the expected list
#   - everything else is within the libc list below, and at -O0 and with
#     -ffreestanding it is exactly memcpy memmove memset memcmp strlen
# and, for the object as a whole:
#   - no floating point: it compiles for x86-64 with -mgeneral-regs-only, its
#     x86-64 code has no SSE/x87 arithmetic (and the routed matrix below: no
#     float helper on the MCUs)
#   - no writable global state: .data and .bss are empty
#   - the global symbols it defines all start with icbu_; none with
#     ICBU_REFLOW_STATIC
# The routed matrix: with all five ICBU_MEM* defined as functions of the
# user's (-DICBU_MEMCPY=my_memcpy ... -DICBU_STRLEN=my_strlen, declared), the
# object references no libc symbol at all (nm -u), so that nothing the compiler
# synthesizes (struct copies, zeroed aggregates, byte loops it recognizes as
# memcpy/memset) escapes the routes:
#   - every back end x {none, NO_EXCHANGE, NO_DECODER, both}; on the host
#     (CC), Cortex-M0+ and Cortex-M4F (ARM_CC), RV32IMC (RISCV_CC, with
#     picolibc's headers) and the ATmega2560 (AVR_CC: int, size_t and
#     pointers of 16 bits); at -O0 -O1 -O2 -Os -O3 (AVR: -O0 -O2 -Os); 368
#     compiles, in parallel
#     (JOBS, default nproc), one line each
#   - and with ICBU_REFLOW_NO_LIBC in place of the routes (the library's own
#     loops), every back end x {nolibc: nothing left out, nolibc-both: both
#     left out} on the same targets and levels: 184 compiles more, the same
#     checks (no libc symbol at all)
#   - allowed: the five routes, the back end's own symbols, and on the MCUs
#     libgcc helpers, listed in a "note" line per target, but no 64-bit
#     division helper (__aeabi_ldivmod, __aeabi_uldivmod, __divdi3, __udivdi3,
#     __moddi3, __umoddi3) and no floating-point helper (__aeabi_f*/d*,
#     __addsf3 & co); __aeabi_memcpy & co are libc (newlib), not allowed; on
#     AVR also libgcc's start-up copy of initialised data (__do_copy_data:
#     AVR keeps read-only tables in RAM unless they are put in flash by hand)
#     and its jump-table helper
#   - one exception, named in its lines: Cortex-M0+ at -O0, memcpy in the
#     public functions that return an icbu_num or icbu_date by value (icbu_n,
#     icbu_d, icbu_date_from_unix, read from the header): GCC copies the
#     returned local with a memcpy call there, which no C spelling avoids
#   - whatever else is named with the functions that reference it (the
#     objects are built with -ffunction-sections; readelf -r)
#   - the cross compilers get the back ends' headers from the host through
#     tools/backend_inc.sh (links to mbedtls/, psa/ and bearssl.h alone,
#     never the host's /usr/include)
#   - self-test: the header with `out->code = er->code` put back (a struct
#     assignment) must fail it, on Cortex-M0+ -Os, naming icbu__parse_answer
# The failures again at the end; last line: "N passed, N failed"; exit status 1
# if any failed.
#
# Environment: CC (cc), NM (nm), OBJDUMP (objdump), SIZE (size), READELF (readelf),
# ARM_CC (arm-none-eabi-gcc), ARM_NM (arm-none-eabi-nm), RISCV_CC
# (riscv64-unknown-elf-gcc), RISCV_NM (riscv64-unknown-elf-nm), AVR_CC (avr-gcc),
# AVR_NM (avr-nm), JOBS (nproc),
# BUILD (build), HDR_DIR (the repository: where icbu_reflow.h is).

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HDR_DIR=${HDR_DIR:-$ROOT}   # where icbu_reflow.h is (a mutated copy, to test this script)
CC=${CC:-cc}
NM=${NM:-nm}
OBJDUMP=${OBJDUMP:-objdump}
SIZE=${SIZE:-size}
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
ARM_NM=${ARM_NM:-arm-none-eabi-nm}
OUT=${BUILD:-$ROOT/build}/audit
mkdir -p "$OUT"

# The libc functions the implementation may call: the five behind
# ICBU_MEMCPY, ICBU_MEMMOVE, ICBU_MEMSET, ICBU_MEMCMP and ICBU_STRLEN.
LIBC_ALLOWED="memcpy memmove memset memcmp strlen"
LIBC_EXACT="memcmp memcpy memmove memset strlen"

HEAP="malloc calloc realloc reallocarray free strdup strndup aligned_alloc posix_memalign memalign valloc pvalloc alloca"
STDIO="printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf puts fputs fputc putc putchar
 fopen fdopen freopen fclose fwrite fread fflush fgets fgetc getc getchar perror setvbuf setbuf scanf fscanf
 sscanf stdin stdout stderr __printf_chk __fprintf_chk __sprintf_chk __snprintf_chk __vfprintf_chk
 __vsnprintf_chk __vsprintf_chk __fread_chk __fgets_chk write read open close"
TIME="time gmtime gmtime_r localtime localtime_r mktime timegm timelocal clock clock_gettime gettimeofday
 strftime strptime difftime asctime ctime tzset"
LOCALE="setlocale localeconv newlocale uselocale nl_langinfo isalpha isdigit isspace isupper islower isalnum
 isxdigit isprint ispunct iscntrl isgraph isblank tolower toupper __ctype_b_loc __ctype_tolower_loc
 __ctype_toupper_loc __ctype_get_mb_cur_max strtod strtof strtold strtol strtoul strtoll strtoull strtoimax
 strtoumax __isoc23_strtol __isoc23_strtoul __isoc23_strtoll __isoc23_strtoull atoi atol atoll atof
 __isoc99_sscanf strcoll strxfrm mbtowc mbrtowc wctomb wcrtomb mblen iswalpha"
ABORT="abort assert __assert_fail __assert __stack_chk_fail exit _exit"

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
failed=""                # every failure again before the last line (run_suites.py shows the tail)
bad() { fail=$((fail + 1)); failed="${failed}FAIL - $*
"; echo "FAIL - $*"; }

# expect_none LABEL "SYMS" "FORBIDDEN": none of FORBIDDEN in SYMS
expect_none() {
    hit=""
    for s in $3; do
        case " $2 " in *" $s "*) hit="$hit $s" ;; esac
    done
    if [ -z "$hit" ]; then ok "$1"; else bad "$1:$hit"; fi
}

words() { tr ' \n' '\n\n' | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

gen() {   # gen FILE DEFINES...
    f=$1; shift
    : > "$f"
    for d in "$@"; do echo "#define $d" >> "$f"; done
    echo "#define ICBU_REFLOW_IMPLEMENTATION" >> "$f"
    echo "#include \"icbu_reflow.h\"" >> "$f"
}

compile() {   # compile SRC OBJ FLAGS...
    src=$1; obj=$2; shift 2
    if ! "$CC" -std=c99 -I"$HDR_DIR" "$@" -c "$src" -o "$obj" 2> "$obj.log"; then
        bad "compile $(basename "$src") $*: $(head -n 3 "$obj.log" | tr '\n' ' ')"
        return 1
    fi
}

undef() { "$NM" -u "$1" | awk '{print $NF}' | words; }

# The back ends' own symbols.
mbedtls_ver=$(printf '#include <mbedtls/version.h>\nMBEDTLS_VERSION_NUMBER\n' | "$CC" -E -P -x c - 2>/dev/null | tail -n 1)
case "$mbedtls_ver" in
    0x02*) sfx=_ret ;;
    *) sfx= ;;
esac
BE_mbedtls=$(echo "mbedtls_md5_init mbedtls_md5_free mbedtls_md5_starts$sfx mbedtls_md5_update$sfx
 mbedtls_md5_finish$sfx mbedtls_sha256_init mbedtls_sha256_free mbedtls_sha256_starts$sfx
 mbedtls_sha256_update$sfx mbedtls_sha256_finish$sfx" | words)
# bearssl.h: #define br_sha256_update br_sha224_update
BE_bearssl=$(echo "br_md5_init br_md5_update br_md5_out br_sha256_init br_sha224_update br_sha256_out" | words)
BE_custom=$(echo "icbu_custom_hash_init icbu_custom_hash_update icbu_custom_hash_final" | words)
BE_psa=$(echo "psa_hash_setup psa_hash_update psa_hash_finish psa_hash_abort" | words)

# ---- the routed matrix's pieces: one compile is `audit.sh --routed-job BE FEAT TARGET OPT`
ROUTES="my_memcpy my_memmove my_memset my_memcmp my_strlen"
DIV64='^(__aeabi_ldivmod|__aeabi_uldivmod|__divdi3|__udivdi3|__moddi3|__umoddi3)$'
FLOAT='^__aeabi_(f|d)|^__aeabi_u?[il]2[fd]$|^__(add|sub|mul|div|neg)[sdtx]f3$|^__(float|fix|extend|trunc)|^__(eq|ne|lt|le|gt|ge|un)[sdt]f2$'
LIBGCC='^__aeabi_|^__gnu_|^__[a-z]+[hsdt]i[0-9](_s8)?$|^__(do_copy_data|do_clear_bss|tablejump2__)$'
                                                   # but __aeabi_mem*: newlib's, libc
RISCV_CC=${RISCV_CC:-riscv64-unknown-elf-gcc}
RISCV_NM=${RISCV_NM:-riscv64-unknown-elf-nm}
AVR_CC=${AVR_CC:-avr-gcc}
AVR_NM=${AVR_NM:-avr-nm}
READELF=${READELF:-readelf}
BEINC="$OUT/backend-inc"           # the host's mbedtls/, psa/, bearssl.h: tools/backend_inc.sh
# The public functions that return a number or a date by value (icbu_n, icbu_d,
# icbu_date_from_unix): at -O0, arm-none-eabi-gcc for Cortex-M0+ copies the
# returned struct from the local with a memcpy call (a block move of an 8- or
# 2-byte aligned struct, which Thumb-1 only does inline when 4-byte aligned).
BYVALUE=$(awk '/^#if defined\(ICBU_REFLOW_IMPLEMENTATION\)/ { exit } { print }' "$HDR_DIR/icbu_reflow.h" |
          sed -nE 's/^ICBUDEF icbu_(num|date) +(icbu_[a-z0-9_]+) *\(.*/\2/p' | words)

target_of() {   # target_of TARGET: sets tcc tnm tflags tlabel
    case $1 in
        host) tcc=$CC; tnm=$NM; tflags=""; tlabel="host" ;;
        m0plus) tcc=$ARM_CC; tnm=$ARM_NM; tlabel="Cortex-M0+"
                tflags="-mcpu=cortex-m0plus -mthumb -isystem $BEINC" ;;
        m4f) tcc=$ARM_CC; tnm=$ARM_NM; tlabel="Cortex-M4F"
             tflags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -isystem $BEINC" ;;
        rv32) tcc=$RISCV_CC; tnm=$RISCV_NM; tlabel="RV32IMC"
              tflags="-march=rv32imc -mabi=ilp32 --specs=picolibc.specs -isystem $BEINC" ;;
        avr) tcc=$AVR_CC; tnm=$AVR_NM; tlabel="ATmega2560"
             tflags="-mmcu=atmega2560 -isystem $BEINC" ;;
    esac
}

refs() {   # refs OBJ SYM: the functions whose code names SYM (sections .text.NAME)
    "$READELF" -rW "$1" | awk -v s="$2" '
        /^Relocation section/ { sec = $3; gsub(/\047/, "", sec); sub(/^\.rela?\.text\./, "", sec); next }
        { for (i = 1; i <= NF; i++) if ($i == s) { print sec; break } }' | words
}

routed_job() {   # routed_job BE FEAT TARGET OPT: writes OBJ.res (one line) and OBJ.helpers
    be=$1; feat=$2; target=$3; opt=$4
    target_of "$target"
    obj="$OUT/routed/$be-$feat-$target$opt.o"
    tag="routed $tlabel $opt $be $feat"
    # shellcheck disable=SC2086
    if ! "$tcc" -std=c99 $tflags $opt -ffunction-sections -I"$HDR_DIR" -c "$OUT/routed/$be-$feat.c" \
           -o "$obj" 2> "$obj.log"; then
        echo "FAIL - $tag: does not compile: $(head -n 3 "$obj.log" | tr '\n' ' ')" > "$obj.res"
        return
    fi
    eval "expected=\$BE_$be"
    # each undefined symbol, classified: "ok", "helper", "div64", "float" or "other"
    "$tnm" -u "$obj" | awk -v allowed=" $ROUTES $expected " -v mcu="$([ "$target" = host ] || echo 1)" \
        -v div64="$DIV64" -v float="$FLOAT" -v libgcc="$LIBGCC" '{
            s = $NF
            if (index(allowed, " " s " ")) k = "ok"
            else if (s ~ div64) k = "div64"
            else if (s ~ float) k = "float"
            else if (mcu && s ~ libgcc && s !~ /^__aeabi_mem/) k = "helper"
            else k = "other"
            print k, s
        }' > "$obj.syms"
    wrong=$(awk '$1 == "div64" { printf " %s (64-bit division);", $2 } $1 == "float" { printf " %s (floating point);", $2 }' "$obj.syms")
    helpers=$(awk '$1 == "helper" { print $2 }' "$obj.syms" | words)
    byvalue=""
    for s in $(awk '$1 == "other" { print $2 }' "$obj.syms"); do
        from=$(refs "$obj" "$s")
        others=""
        for f in $from; do case " $BYVALUE " in *" $f "*) ;; *) others="$others $f" ;; esac; done
        if [ "$target $opt $s" = "m0plus -O0 memcpy" ] && [ -n "$from" ] && [ -z "$others" ]; then
            byvalue="$from"
        else
            wrong="$wrong $s (in ${from:-?});"
        fi
    done
    echo "$helpers" > "$obj.helpers"
    if [ -n "$wrong" ]; then echo "FAIL - $tag:$wrong"
    elif [ -n "$byvalue" ]; then echo "ok   - $tag: no libc symbol but memcpy, in the by-value returns of $byvalue"
    else echo "ok   - $tag: no libc symbol"; fi > "$obj.res"
}

if [ "${1:-}" = --routed-job ]; then
    shift
    routed_job "$@"
    exit 0
fi

# With all five ICBU_MEM* routed to functions of the user's (my_memcpy ...
# my_strlen, declared), no libc symbol at all: every back end x {none,
# NO_EXCHANGE, NO_DECODER, both}, and ICBU_REFLOW_NO_LIBC's own five in place
# of the routes {nolibc, nolibc-both}, on the host, Cortex-M0+, Cortex-M4F,
# RV32IMC and the ATmega2560, at -O0 -O1 -O2 -Os -O3, compiled in parallel (JOBS, nproc). Allowed:
# the routes, the back end's symbols, and on the MCUs libgcc helpers (listed
# below) but no 64-bit division and no floating point; on Cortex-M0+ at -O0,
# memcpy in the by-value returns (BYVALUE) only. The compiles run in the
# background while the host checks below run; their lines come after those.
FEATS="none NO_EXCHANGE NO_DECODER both nolibc nolibc-both"
TARGETS="host m0plus m4f rv32 avr"
LEVELS="-O0 -O1 -O2 -Os -O3"
AVR_LEVELS="-O0 -O2 -Os"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir -p "$OUT/routed"
rm -f "$OUT/routed/"*.res "$OUT/routed/"*.helpers "$OUT/routed/"*.syms
if [ -z "$BYVALUE" ]; then bad "no public function returning icbu_num or icbu_date found in the header"; fi
if ! CC=$CC "$ROOT/tools/backend_inc.sh" "$BEINC"; then bad "the back ends' headers for the cross compilers"; fi
for be in mbedtls psa bearssl custom; do
    BE=$(echo $be | tr a-z A-Z)
    for feat in $FEATS; do
        {
            case $feat in
            nolibc*)
                echo "/* generated by tools/audit.sh: the library's own five, then the implementation */"
                echo "#define ICBU_REFLOW_NO_LIBC" ;;
            *)
                echo "/* generated by tools/audit.sh: the five routes, declared, then the implementation */"
                echo "#include <stddef.h>"
                echo "void *my_memcpy(void *d, const void *s, size_t n);"
                echo "void *my_memmove(void *d, const void *s, size_t n);"
                echo "void *my_memset(void *d, int c, size_t n);"
                echo "int my_memcmp(const void *a, const void *b, size_t n);"
                echo "size_t my_strlen(const char *s);"
                echo "#define ICBU_MEMCPY my_memcpy"
                echo "#define ICBU_MEMMOVE my_memmove"
                echo "#define ICBU_MEMSET my_memset"
                echo "#define ICBU_MEMCMP my_memcmp"
                echo "#define ICBU_STRLEN my_strlen" ;;
            esac
            case $feat in
                NO_EXCHANGE|both|nolibc-both) echo "#define ICBU_REFLOW_NO_EXCHANGE" ;;
            esac
            case $feat in
                NO_DECODER|both|nolibc-both) echo "#define ICBU_REFLOW_NO_DECODER" ;;
            esac
            echo "#define ICBU_REFLOW_CRYPTO_$BE"
            echo "#define ICBU_REFLOW_IMPLEMENTATION"
            echo "#include \"icbu_reflow.h\""
        } > "$OUT/routed/$be-$feat.c"
    done
done
avail=""
for target in $TARGETS; do
    target_of "$target"
    if command -v "$tcc" >/dev/null 2>&1; then avail="$avail $target"
    else bad "$tcc not found: the routed check on $tlabel cannot run"; fi
done
levels_of() {   # the levels of a target: AVR at three (its 16-bit code is the front end's)
    if [ "$1" = avr ]; then echo "$AVR_LEVELS"; else echo "$LEVELS"; fi
}
for target in $avail; do
    for opt in $(levels_of "$target"); do for be in mbedtls psa bearssl custom; do for feat in $FEATS; do
        echo "$be $feat $target $opt"
    done; done; done
done | xargs -P "$JOBS" -n 4 sh "$0" --routed-job &
routed_pid=$!      # collected below, after the host checks that run meanwhile

for be in mbedtls psa bearssl custom; do
    BE=$(echo $be | tr a-z A-Z)
    src="$OUT/impl_$be.c"
    gen "$src" "ICBU_REFLOW_CRYPTO_$BE"
    eval "expected=\$BE_$be"
    for opt in -O0 -O1 -O2 -Os -O3 "-O2 -ffreestanding"; do
        tag="$be $opt"
        obj="$OUT/impl_${be}_$(echo "$opt" | tr -d ' -').o"
        # shellcheck disable=SC2086
        compile "$src" "$obj" $opt || continue
        u=$(undef "$obj")
        expect_none "$tag: no heap" "$u" "$HEAP"
        expect_none "$tag: no stdio" "$u" "$STDIO"
        expect_none "$tag: no time" "$u" "$TIME"
        expect_none "$tag: no locale" "$u" "$LOCALE"
        expect_none "$tag: no abort/assert/stack protector" "$u" "$ABORT"
        # the back end's symbols: exactly the expected list
        got_be=""
        rest=""
        for s in $u; do
            case " $expected " in *" $s "*) got_be="$got_be $s" ;; *) rest="$rest $s" ;; esac
        done
        got_be=$(echo "$got_be" | words)
        rest=$(echo "$rest" | words)
        if [ "$got_be" = "$expected" ]; then ok "$tag: back end symbols: $got_be"
        else bad "$tag: back end symbols: got '$got_be', expected '$expected'"; fi
        # the rest: libc, within the allowed list; exact where nothing synthesizes calls
        extra=""
        for s in $rest; do
            case " $LIBC_ALLOWED " in *" $s "*) ;; *) extra="$extra $s" ;; esac
        done
        if [ -n "$extra" ]; then bad "$tag: unexpected undefined symbols:$extra"
        else
            case "$opt" in
                -O0|*freestanding*)
                    if [ "$rest" = "$LIBC_EXACT" ]; then ok "$tag: libc is exactly: $rest"
                    else bad "$tag: libc is '$rest', expected exactly '$LIBC_EXACT'"; fi ;;
                *) ok "$tag: libc within the list: $rest" ;;
            esac
        fi
    done

    obj="$OUT/impl_${be}_O2.o"
    if [ -f "$obj" ]; then
        # no writable global state
        # (.data.rel.ro is const data with pointers: read-only after relocation)
        ds=$("$SIZE" -A "$obj" | awk '$1 ~ /^\.(t?data|t?bss)/ && $1 !~ /^\.data\.rel\.ro/ {s += $2} END {print s + 0}')
        if [ "$ds" = 0 ]; then ok "$be: no writable global data (.data/.bss/TLS empty)"; else bad "$be: $ds bytes of .data/.bss"; fi
        # namespace: every global definition starts with icbu_
        foreign=$("$NM" -g --defined-only "$obj" | awk '{print $NF}' | grep -v '^icbu_' | words)
        if [ -z "$foreign" ]; then ok "$be: every global symbol starts with icbu_"
        else bad "$be: global symbols outside icbu_: $foreign"; fi
        # no floating point in the x86-64 code
        fp=$("$OBJDUMP" -d --no-show-raw-insn "$obj" | awk -F'\t' 'NF >= 2 {print $2}' |
             grep -E '^(v?(add|sub|mul|div|sqrt|min|max)[sp][sd]|v?cvt[a-z0-9]*|v?u?comis[sd]|v?round[sp][sd]|f(ld|st|add|sub|mul|div|ild|istp|comp?|ucom)[a-z]*)( |$)' |
             sort -u | tr '\n' ' ')
        if [ -z "$fp" ]; then ok "$be: no SSE/x87 floating-point instructions (x86-64 -O2)"
        else bad "$be: floating-point instructions: $fp"; fi
    fi
    # -mgeneral-regs-only: any float or double in the code is a compile error
    if "$CC" -std=c99 -I"$HDR_DIR" -O2 -mgeneral-regs-only -c "$src" -o "$OUT/impl_${be}_gro.o" 2> "$OUT/gro_$be.log"; then
        ok "$be: compiles with -mgeneral-regs-only"
    elif grep -q "unrecognized\|unknown argument\|not supported" "$OUT/gro_$be.log"; then
        echo "skip - $be: $CC has no -mgeneral-regs-only"
    else
        bad "$be: -mgeneral-regs-only: $(head -n 3 "$OUT/gro_$be.log" | tr '\n' ' ')"
    fi
    # ICBU_REFLOW_STATIC: nothing global at all
    gen "$OUT/impl_${be}_static.c" "ICBU_REFLOW_CRYPTO_$BE" ICBU_REFLOW_STATIC
    if compile "$OUT/impl_${be}_static.c" "$OUT/impl_${be}_static.o" -O2 -Wno-unused-function; then
        g=$("$NM" -g --defined-only "$OUT/impl_${be}_static.o" | awk '{print $NF}' | words)
        if [ -z "$g" ]; then ok "$be: ICBU_REFLOW_STATIC defines no global symbol"
        else bad "$be: ICBU_REFLOW_STATIC still defines: $g"; fi
    fi
done

wait "$routed_pid"
for target in $avail; do
    target_of "$target"
    for opt in $(levels_of "$target"); do for be in mbedtls psa bearssl custom; do for feat in $FEATS; do
        res="$OUT/routed/$be-$feat-$target$opt.o.res"
        if [ ! -f "$res" ]; then bad "routed $tlabel $opt $be $feat: no result"; continue; fi
        line=$(cat "$res")
        echo "$line"
        case $line in
            "ok "*) pass=$((pass + 1)) ;;
            *) fail=$((fail + 1)); failed="$failed$line
" ;;
        esac
    done; done; done
    if [ "$target" != host ]; then
        echo "note - $tlabel libgcc helpers, any configuration and level:" \
             "$(cat "$OUT/routed/"*"-$target-"*.helpers 2>/dev/null | words | sed 's/^$/none/')"
    fi
done
# The check can fail: the header with one struct assignment put back (the
# platform error's code, an icbu_num: 8-byte aligned, so a memcpy call on
# Cortex-M0+ at every level) fails it, at -Os, naming the function.
mut="$OUT/mutant"
rm -rf "$mut"
mkdir -p "$mut/hdr" "$mut/audit/routed"
sed 's/ICBU_MEMCPY(&out->code, &er->code, sizeof out->code);/out->code = er->code;/' \
    "$HDR_DIR/icbu_reflow.h" > "$mut/hdr/icbu_reflow.h"
if cmp -s "$HDR_DIR/icbu_reflow.h" "$mut/hdr/icbu_reflow.h"; then
    bad "self-test: the line to mutate (ICBU_MEMCPY(&out->code, ...)) is not in the header: update this test"
else
    cp "$OUT/routed/custom-none.c" "$mut/audit/routed/"
    BUILD=$mut HDR_DIR=$mut/hdr sh "$0" --routed-job custom none m0plus -Os
    res=$(cat "$mut/audit/routed/custom-none-m0plus-Os.o.res" 2>/dev/null)
    case $res in
        "FAIL - "*"memcpy (in icbu__parse_answer)"*) ok "self-test: out->code = er->code put back fails the routed check: ${res#FAIL - }" ;;
        *) bad "self-test: out->code = er->code put back, expected a failure naming memcpy in icbu__parse_answer: ${res:-no result}" ;;
    esac
fi
if [ -n "$failed" ]; then
    echo "the failures again:"
    printf '%s' "$failed"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

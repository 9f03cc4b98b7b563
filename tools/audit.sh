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
#   - no 64-bit division helper (__aeabi_ldivmod, __aeabi_uldivmod, __divdi3,
#     __udivdi3, __moddi3, __umoddi3) in any configuration, on Cortex-M0+, M4F
#     and RV32, at -Os and -O2
#   - no floating point: it compiles for x86-64 with -mgeneral-regs-only, its
#     x86-64 code has no SSE/x87 arithmetic, and a soft-float Cortex-M0+
#     build (no FPU, so any float or double becomes a libgcc call) references
#     no __aeabi_f*/__aeabi_d*/__aeabi_*2f/2d helper
#   - no writable global state: .data and .bss are empty
#   - the global symbols it defines all start with icbu_; none with
#     ICBU_REFLOW_STATIC
# Last line: "N passed, N failed"; exit status 1 if any failed.
#
# Environment: CC (cc), NM (nm), OBJDUMP (objdump), SIZE (size),
# ARM_CC (arm-none-eabi-gcc), ARM_NM (arm-none-eabi-nm), BUILD (build).

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
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

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
# psa_hash_operation_init is a static inline function of <psa/crypto.h>
BE_psa=$(echo "psa_hash_setup psa_hash_update psa_hash_finish psa_hash_abort" | words)

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

# Soft-float Cortex-M0+ (no FPU): any float/double arithmetic needs a libgcc helper.
if command -v "$ARM_CC" >/dev/null 2>&1; then
    for rows in "" "ICBU_REFLOW_NO_DECODER" "ICBU_REFLOW_NO_EXCHANGE ICBU_REFLOW_NO_DECODER"; do
        # shellcheck disable=SC2086
        gen "$OUT/impl_arm.c" ICBU_REFLOW_CRYPTO_CUSTOM $rows
        for opt in -O0 -Os; do
            if "$ARM_CC" -std=gnu99 -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft $opt -I"$HDR_DIR" \
                   -c "$OUT/impl_arm.c" -o "$OUT/impl_arm.o" 2> "$OUT/impl_arm.log"; then
                fl=$("$ARM_NM" -u "$OUT/impl_arm.o" | awk '{print $NF}' |
                     grep -E '^__aeabi_(f|d)|^__aeabi_u?[il]2[fd]$|^__(add|sub|mul|div|neg)[sdtx]f3$|^__(float|fix|extend|trunc)|^__(eq|ne|lt|le|gt|ge|un)[sd]f2$' | words)
                if [ -z "$fl" ]; then ok "soft-float Cortex-M0+ $opt ${rows:-full}: no floating-point helpers"
                else bad "soft-float Cortex-M0+ $opt ${rows:-full}: floating point: $fl"; fi
            else
                bad "soft-float Cortex-M0+ $opt ${rows:-full}: $(head -n 3 "$OUT/impl_arm.log" | tr '\n' ' ')"
            fi
        done
    done
else
    bad "$ARM_CC not found: the soft-float check cannot run"
fi

# No 64-bit division anywhere: a 32-bit MCU does it in a libgcc helper of about 1 KB
# (Cortex-M) or 4 KB (RV32). Every configuration, Cortex-M0+, M4F and RV32, -Os and -O2.
RISCV_CC=${RISCV_CC:-riscv64-unknown-elf-gcc}
RISCV_NM=${RISCV_NM:-riscv64-unknown-elf-nm}
DIV64='^(__aeabi_ldivmod|__aeabi_uldivmod|__divdi3|__udivdi3|__moddi3|__umoddi3)$'
for rows in "" "ICBU_REFLOW_NO_EXCHANGE" "ICBU_REFLOW_NO_DECODER" "ICBU_REFLOW_NO_EXCHANGE ICBU_REFLOW_NO_DECODER"; do
    # shellcheck disable=SC2086
    gen "$OUT/impl_div.c" ICBU_REFLOW_CRYPTO_CUSTOM $rows
    for target in m0plus m4f rv32; do
        case $target in
            m0plus) cc=$ARM_CC; nm=$ARM_NM; tf="-mcpu=cortex-m0plus -mthumb" ;;
            m4f) cc=$ARM_CC; nm=$ARM_NM; tf="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" ;;
            rv32) cc=$RISCV_CC; nm=$RISCV_NM
                  tf="-march=rv32imc -mabi=ilp32 -ffreestanding -DICBU_MEMCPY=__builtin_memcpy -DICBU_MEMMOVE=__builtin_memmove -DICBU_MEMSET=__builtin_memset -DICBU_MEMCMP=__builtin_memcmp -DICBU_STRLEN=__builtin_strlen" ;;
        esac
        command -v "$cc" >/dev/null 2>&1 || { bad "$cc not found: the 64-bit division check cannot run"; continue; }
        for opt in -Os -O2; do
            # shellcheck disable=SC2086
            if "$cc" -std=gnu99 $tf $opt -I"$HDR_DIR" -c "$OUT/impl_div.c" -o "$OUT/impl_div.o" 2> "$OUT/impl_div.log"; then
                dv=$("$nm" -u "$OUT/impl_div.o" | awk '{print $NF}' | grep -E "$DIV64" | words)
                if [ -z "$dv" ]; then ok "$target $opt ${rows:-full}: no 64-bit division helper"
                else bad "$target $opt ${rows:-full}: 64-bit division: $dv"; fi
            else
                bad "$target $opt ${rows:-full}: $(head -n 3 "$OUT/impl_div.log" | tr '\n' ' ')"
            fi
        done
    done
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

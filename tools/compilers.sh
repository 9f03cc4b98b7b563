#!/bin/sh
# Compiles icbu_reflow.h under every configuration it offers, with strict
# warnings as errors, as C (gcc, clang, arm-none-eabi-gcc) and as C++ (g++,
# clang++). Run by `make test`; one line per compile, the failures again at
# the end, last line "N passed, N failed", exit status 1 if any failed.
#
#   C:   -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
#        -Wshadow -Wcast-qual -Wstrict-prototypes -Werror
#   C++: -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Wconversion
#        -Wsign-conversion -Wshadow -Wcast-qual -Werror
#
# Matrix: {MBEDTLS, PSA, BEARSSL, CUSTOM} x {none, NO_EXCHANGE, NO_DECODER, both},
# each as one translation unit that defines the implementation and names every
# public function the configuration offers (so that ICBU_REFLOW_STATIC does not
# trip -Wunused-function):
#   - at -O0, -O1, -O2, -Os and -O3 (some warnings, such as
#     -Wmaybe-uninitialized and -Warray-bounds, need the optimizer and change
#     with inlining) with gcc, clang and arm-none-eabi-gcc (Cortex-M4F; the
#     back ends' headers through tools/backend_inc.sh: links to the host's
#     mbedtls/, psa/ and bearssl.h alone, never the host's /usr/include)
#   - and with avr-gcc for the ATmega2560 (8-bit AVR: int, size_t and pointers
#     of 16 bits, which C99 allows; at -O0, -O2 and -Os; the back ends' headers
#     as for Cortex-M4F)
#   - with ICBU_REFLOW_STATIC (every function static, so inlined as the
#     optimizer likes): gcc at every level, clang at -O0
#   - as C++11 (g++, clang++), extern and static, at -O0
# Also: ICBU_REFLOW_NO_LIBC (the library's own five loops) for every back end,
# with nothing and with both left out, at every level with gcc, clang and
# arm-none-eabi-gcc (avr-gcc: the custom back end), static with gcc at -O0,
# and as C++ at -O2;
# the writer's small build (ICBU_REFLOW_SMALL, which -Os turns on) at
# -O2 with gcc, clang, arm-none-eabi-gcc and avr-gcc for every back end, and C++ at
# -O2, -O3 and -O2 with ICBU_REFLOW_SMALL; the declarations alone (no
# IMPLEMENTATION) in C99 and C++98/11/20;
# no compound literals or designated initializers in the declarations part;
# the header included twice, then once more with the implementation; and no
# back end or two back ends stop the build with the "define exactly one"
# #error; MBEDTLS against mbedTLS 4.x's version.h stops with the "use PSA" one.
# The compiles run in parallel (xargs -P JOBS, default nproc), printed in order
# once all are done; the #error checks after them.
#
# Environment: GCC (gcc), CLANG (clang), GXX (g++), CLANGXX (clang++),
# ARM_CC (arm-none-eabi-gcc), AVR_CC (avr-gcc), JOBS (nproc), BUILD (build), HDR_DIR (the
# repository: where icbu_reflow.h is).

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HDR_DIR=${HDR_DIR:-$ROOT}
HDR="$HDR_DIR/icbu_reflow.h"
OUT=${BUILD:-$ROOT/build}/compilers
mkdir -p "$OUT"

CFLAGS_STRICT="-std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Wstrict-prototypes -Werror"
CXXFLAGS_STRICT="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Werror"
C_COMPILERS="${GCC:-gcc} ${CLANG:-clang}"
CXX_COMPILERS="${GXX:-g++} ${CLANGXX:-clang++}"
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
BEINC="$OUT/backend-inc"
ARM_FLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -isystem $BEINC"
AVR_CC=${AVR_CC:-avr-gcc}
AVR_FLAGS="-mmcu=atmega2560 -isystem $BEINC"
LEVELS="-O0 -O1 -O2 -Os -O3"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
JOBLIST="$OUT/jobs.txt"

pass=0
fail=0
failed=""
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); failed="${failed}FAIL - $*
"; echo "FAIL - $*"; }

# One compile of the list: `compilers.sh --job N` runs line N of $JOBLIST
# (CC, flags, source, label, tab-separated) into $OUT/res/N.
if [ "${1:-}" = --job ]; then
    n=$2
    tab=$(printf '\t')
    sed -n "${n}p" "$JOBLIST" | {
        IFS=$tab read -r cc flags src label
        log="$OUT/obj/$n.log"
        # shellcheck disable=SC2086
        if "$cc" $flags -I"$HDR_DIR" -c "$src" -o "$OUT/obj/$n.o" > "$log" 2>&1; then
            echo "ok   - $label"
        else
            echo "FAIL - $label"
            sed -n '1,12p' "$log" | sed 's/^/       /'
        fi > "$OUT/res/$n"
    }
    exit 0
fi

rm -rf "$OUT/obj" "$OUT/res"
mkdir -p "$OUT/obj" "$OUT/res"
: > "$JOBLIST"
njobs=0
# build CC FLAGS SRC LABEL: one compile, added to the list run below
build() {
    njobs=$((njobs + 1))
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$JOBLIST"
}

# The public functions and the NO_* guards around their declarations:
# lines "NAME GUARD..." taken from the declarations part of the header.
awk '
    /^#if defined\(ICBU_REFLOW_IMPLEMENTATION\)/ { exit }
    /^#if/ { n++; g[n] = ($1 == "#ifndef" && $2 ~ /^ICBU_REFLOW_NO_/) ? $2 : "" ; next }
    /^#endif/ { if (n) n--; next }
    /^ICBUDEF/ {
        if (match($0, /icbu_[a-z0-9_]+ *\(/)) {
            name = substr($0, RSTART, RLENGTH); sub(/ *\($/, "", name)
            guards = ""; for (i = 1; i <= n; i++) if (g[i] != "") guards = guards " " g[i]
            print name guards
        }
    }' "$HDR" > "$OUT/api.txt"
napi=$(wc -l < "$OUT/api.txt")
if [ "$napi" -ge 10 ]; then ok "found $napi public functions in the declarations"
else bad "found only $napi public functions in the declarations"; fi

uses() {   # the body of a function naming every public function, with its guards
    echo "void icbu_test_uses(void);"
    echo "void icbu_test_uses(void) {"
    while read -r name guards; do
        for gd in $guards; do echo "#ifndef $gd"; done
        echo "    (void)&$name;"
        for gd in $guards; do echo "#endif"; done
    done < "$OUT/api.txt"
    echo "}"
}

# --- the matrix
for be in MBEDTLS PSA BEARSSL CUSTOM; do
    for feat in none NO_EXCHANGE NO_DECODER both; do
        for st in extern static; do
            tag="$be-$feat-$st"
            src="$OUT/m_$tag.c"
            {
                echo "/* generated by tools/compilers.sh */"
                [ "$st" = static ] && echo "#define ICBU_REFLOW_STATIC"
                case $feat in
                    NO_EXCHANGE) echo "#define ICBU_REFLOW_NO_EXCHANGE" ;;
                    NO_DECODER) echo "#define ICBU_REFLOW_NO_DECODER" ;;
                    both) echo "#define ICBU_REFLOW_NO_EXCHANGE"; echo "#define ICBU_REFLOW_NO_DECODER" ;;
                esac
                echo "#define ICBU_REFLOW_CRYPTO_$be"
                echo "#define ICBU_REFLOW_IMPLEMENTATION"
                echo "#include \"icbu_reflow.h\""
                uses
            } > "$src"
            for opt in $LEVELS; do
                if [ "$st" = extern ]; then
                    for cc in $C_COMPILERS; do
                        build "$cc" "$CFLAGS_STRICT $opt" "$src" "$cc C99 $opt $tag"
                    done
                    build "$ARM_CC" "$CFLAGS_STRICT $ARM_FLAGS $opt" "$src" "$ARM_CC C99 Cortex-M4F $opt $tag"
                    case $opt in -O1|-O3) ;; *)      # AVR: -O0, -O2, -Os
                    build "$AVR_CC" "$CFLAGS_STRICT $AVR_FLAGS $opt" "$src" "$AVR_CC C99 ATmega2560 $opt $tag" ;; esac
                else
                    build "${GCC:-gcc}" "$CFLAGS_STRICT $opt" "$src" "${GCC:-gcc} C99 $opt $tag"
                fi
            done
            [ "$st" = static ] && build "${CLANG:-clang}" "$CFLAGS_STRICT -O0" "$src" "${CLANG:-clang} C99 -O0 $tag"
            for cxx in $CXX_COMPILERS; do
                build "$cxx" "-x c++ -std=c++11 $CXXFLAGS_STRICT" "$src" "$cxx C++11 $tag"
            done
        done
    done
done

# --- newer and older C++ on the default configuration
for cxx in $CXX_COMPILERS; do
    for std in c++98 c++20; do
        build "$cxx" "-x c++ -std=$std $CXXFLAGS_STRICT" "$OUT/m_MBEDTLS-none-extern.c" "$cxx $std MBEDTLS-none-extern"
    done
done

# --- the writer's small build (ICBU_REFLOW_SMALL, what -Os turns on) at -O2
for be in MBEDTLS PSA BEARSSL CUSTOM; do
    for cc in $C_COMPILERS; do
        build "$cc" "$CFLAGS_STRICT -O2 -DICBU_REFLOW_SMALL" "$OUT/m_$be-none-extern.c" \
            "$cc C99 -O2 -DICBU_REFLOW_SMALL $be-none-extern"
    done
    build "$ARM_CC" "$CFLAGS_STRICT $ARM_FLAGS -O2 -DICBU_REFLOW_SMALL" "$OUT/m_$be-none-extern.c" \
        "$ARM_CC C99 Cortex-M4F -O2 -DICBU_REFLOW_SMALL $be-none-extern"
    build "$AVR_CC" "$CFLAGS_STRICT $AVR_FLAGS -O2 -DICBU_REFLOW_SMALL" "$OUT/m_$be-none-extern.c" \
        "$AVR_CC C99 ATmega2560 -O2 -DICBU_REFLOW_SMALL $be-none-extern"
done
for cxx in $CXX_COMPILERS; do
    for opt in -O2 -O3 "-O2 -DICBU_REFLOW_SMALL"; do
        build "$cxx" "-x c++ -std=c++11 $CXXFLAGS_STRICT $opt" "$OUT/m_MBEDTLS-none-extern.c" \
            "$cxx C++11 $opt MBEDTLS-none-extern"
    done
done

# --- the library's own five (ICBU_REFLOW_NO_LIBC, in place of string.h): every
# back end, with nothing and with both left out, at every level (gcc, clang,
# arm-none-eabi-gcc); static at -O0 (an unused loop must not warn); C++ at -O2
for be in MBEDTLS PSA BEARSSL CUSTOM; do
    for feat in none both; do
        for opt in $LEVELS; do
            for cc in $C_COMPILERS; do
                build "$cc" "$CFLAGS_STRICT $opt -DICBU_REFLOW_NO_LIBC" "$OUT/m_$be-$feat-extern.c" \
                    "$cc C99 $opt -DICBU_REFLOW_NO_LIBC $be-$feat-extern"
            done
            build "$ARM_CC" "$CFLAGS_STRICT $ARM_FLAGS $opt -DICBU_REFLOW_NO_LIBC" "$OUT/m_$be-$feat-extern.c" \
                "$ARM_CC C99 Cortex-M4F $opt -DICBU_REFLOW_NO_LIBC $be-$feat-extern"
            [ "$be" = CUSTOM ] && build "$AVR_CC" "$CFLAGS_STRICT $AVR_FLAGS $opt -DICBU_REFLOW_NO_LIBC" \
                "$OUT/m_$be-$feat-extern.c" "$AVR_CC C99 ATmega2560 $opt -DICBU_REFLOW_NO_LIBC $be-$feat-extern"
        done
        build "${GCC:-gcc}" "$CFLAGS_STRICT -O0 -DICBU_REFLOW_NO_LIBC" "$OUT/m_$be-$feat-static.c" \
            "${GCC:-gcc} C99 -O0 -DICBU_REFLOW_NO_LIBC $be-$feat-static"
    done
done
for cxx in $CXX_COMPILERS; do
    for src in MBEDTLS-none-extern CUSTOM-both-static; do
        build "$cxx" "-x c++ -std=c++11 $CXXFLAGS_STRICT -O2 -DICBU_REFLOW_NO_LIBC" "$OUT/m_$src.c" \
            "$cxx C++11 -O2 -DICBU_REFLOW_NO_LIBC $src"
    done
done

# --- the stricter warnings a firmware or C++ project may build with (its own
# -Werror must not stop at the header): every back end, nothing and both left
# out, gcc at -O2 and -Os, arm-none-eabi-gcc and avr-gcc at -Os; clang's own at -O2; and
# the declarations in C++ with the casts and NULL warnings C++ projects use
STRICTER="-Wundef -Wcast-align=strict -Wmissing-prototypes -Wmissing-declarations -Wredundant-decls -Wvla -Wdouble-promotion -Wnull-dereference -Wformat=2 -Wwrite-strings -Wold-style-definition -Wbad-function-cast -Wjump-misses-init -Wlogical-op -Wduplicated-cond -Wduplicated-branches -Walloca -Wfloat-equal -Wpointer-arith -Wnested-externs -Winit-self -Wunused-macros"
# avr-gcc 5.4 (Debian's) knows these of them (-Wcast-align=strict, -Wnull-dereference,
# -Wduplicated-cond/-branches and -Walloca came later)
STRICTER_AVR="-Wundef -Wcast-align -Wmissing-prototypes -Wmissing-declarations -Wredundant-decls -Wvla -Wdouble-promotion -Wformat=2 -Wwrite-strings -Wold-style-definition -Wbad-function-cast -Wjump-misses-init -Wlogical-op -Wfloat-equal -Wpointer-arith -Wnested-externs -Winit-self -Wunused-macros"
STRICTER_CLANG="-Wundef -Wcast-align -Wmissing-prototypes -Wmissing-variable-declarations -Wredundant-decls -Wvla -Wdouble-promotion -Wnull-dereference -Wformat=2 -Wwrite-strings -Wbad-function-cast -Wfloat-equal -Wpointer-arith -Wunused-macros -Wcomma -Wextra-semi -Wshorten-64-to-32 -Wimplicit-fallthrough -Wunreachable-code-aggressive -Wassign-enum -Wreserved-identifier -Wdocumentation"
for be in MBEDTLS PSA BEARSSL CUSTOM; do
    for feat in none both; do
        src="$OUT/m_$be-$feat-extern.c"
        for opt in -O2 -Os; do
            build "${GCC:-gcc}" "$CFLAGS_STRICT $STRICTER $opt" "$src" "${GCC:-gcc} C99 $opt stricter warnings $be-$feat-extern"
        done
        build "$ARM_CC" "$CFLAGS_STRICT $ARM_FLAGS $STRICTER -Os" "$src" "$ARM_CC C99 Cortex-M4F -Os stricter warnings $be-$feat-extern"
        build "$AVR_CC" "$CFLAGS_STRICT $AVR_FLAGS $STRICTER_AVR -Os" "$src" "$AVR_CC C99 ATmega2560 -Os stricter warnings $be-$feat-extern"
        build "${CLANG:-clang}" "$CFLAGS_STRICT $STRICTER_CLANG -O2" "$src" "${CLANG:-clang} C99 -O2 stricter warnings $be-$feat-extern"
    done
done

# --- the declarations alone
src="$OUT/decl.c"
{ echo "#include \"icbu_reflow.h\""; echo "int icbu_test_decl(void);"
  echo "int icbu_test_decl(void) { icbu_order o; icbu_err e; (void)o; (void)e; return (int)ICBU_OK; }"; } > "$src"
for cc in $C_COMPILERS; do build "$cc" "$CFLAGS_STRICT" "$src" "$cc C99 declarations only"; done
for cxx in $CXX_COMPILERS; do
    for std in c++98 c++11; do build "$cxx" "-x c++ -std=$std $CXXFLAGS_STRICT" "$src" "$cxx $std declarations only"; done
done
src="$OUT/decl_cxx.c"
{ echo "#include \"icbu_reflow.h\""; echo "int icbu_test_decl(void);"
  echo "int icbu_test_decl(void) { icbu_order o; icbu_err e; (void)o; (void)e; return static_cast<int>(ICBU_OK); }"; } > "$src"
build "${GXX:-g++}" "-x c++ -std=c++11 $CXXFLAGS_STRICT -Wold-style-cast -Wuseless-cast -Wzero-as-null-pointer-constant -Wundef -Wcast-align=strict -Wredundant-decls" \
    "$src" "${GXX:-g++} c++11 declarations only, stricter warnings"
build "${CLANGXX:-clang++}" "-x c++ -std=c++11 $CXXFLAGS_STRICT -Wold-style-cast -Wzero-as-null-pointer-constant -Wundef -Wcast-align -Wextra-semi -Wdocumentation" \
    "$src" "${CLANGXX:-clang++} c++11 declarations only, stricter warnings"
# ... with the custom back end's hooks declared too
src="$OUT/decl_custom.c"
{ echo "#define ICBU_REFLOW_CRYPTO_CUSTOM"; echo "#include \"icbu_reflow.h\""; } > "$src"
for cc in $C_COMPILERS; do build "$cc" "$CFLAGS_STRICT" "$src" "$cc C99 declarations only, CRYPTO_CUSTOM"; done

# --- no C99-only initializer syntax in the declarations part (a C++ user includes it)
decl="$OUT/decl_part.h"
awk '/^#if defined\(ICBU_REFLOW_IMPLEMENTATION\)/ { exit } { print }' "$HDR" |
    sed 's|/\*.*\*/||g' > "$decl"     # one-line comments out (the prose mentions code)
hits=$(grep -nE '\{[[:space:]]*\.[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=|[{,][[:space:]]*\[[^]]+\][[:space:]]*=' "$decl")
if [ -z "$hits" ]; then ok "declarations part: no designated initializers"
else bad "declarations part: designated initializers:"; echo "$hits" | sed 's/^/       /'; fi
hits=$(grep -nE '\([[:space:]]*(const[[:space:]]+)?(struct[[:space:]]+)?[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\)[[:space:]]*\{' "$decl" |
       grep -vE '^[0-9]+:[[:space:]]*(typedef|struct|union|enum|ICBUDEF|int|void|extern|static)')
if [ -z "$hits" ]; then ok "declarations part: no compound literals"
else bad "declarations part: compound literals:"; echo "$hits" | sed 's/^/       /'; fi

# --- included twice, then once more with the implementation (the stb way)
src="$OUT/twice.c"
{ echo "#include \"icbu_reflow.h\""; echo "#include \"icbu_reflow.h\""
  echo "#define ICBU_REFLOW_CRYPTO_BEARSSL"; echo "#define ICBU_REFLOW_IMPLEMENTATION"
  echo "#include \"icbu_reflow.h\""; echo "#include \"icbu_reflow.h\""; } > "$src"
for cc in $C_COMPILERS; do build "$cc" "$CFLAGS_STRICT" "$src" "$cc header twice, then the implementation (twice)"; done

# --- no back end, two back ends: the #error
expect_error() {   # expect_error LABEL DEFINES...
    label=$1; shift
    src="$OUT/err.c"
    : > "$src"
    for d in "$@"; do echo "#define $d" >> "$src"; done
    { echo "#define ICBU_REFLOW_IMPLEMENTATION"; echo "#include \"icbu_reflow.h\""; } >> "$src"
    for cc in $C_COMPILERS $CXX_COMPILERS; do
        lang=""
        case " $CXX_COMPILERS " in *" $cc "*) lang="-x c++" ;; esac
        # shellcheck disable=SC2086
        if "$cc" $lang -I"$HDR_DIR" -fsyntax-only "$src" > "$OUT/err.log" 2>&1; then
            bad "$cc $label: compiled, expected the #error"
        elif grep -q "#error.*define exactly one\|error: .*define exactly one" "$OUT/err.log"; then
            ok "$cc $label: stops with the 'define exactly one' #error"
        else
            bad "$cc $label: failed without the 'define exactly one' #error"
            sed -n '1,6p' "$OUT/err.log" | sed 's/^/       /'
        fi
    done
}
expect_error "no back end"
expect_error "MBEDTLS + BEARSSL" ICBU_REFLOW_CRYPTO_MBEDTLS ICBU_REFLOW_CRYPTO_BEARSSL
expect_error "BEARSSL + CUSTOM" ICBU_REFLOW_CRYPTO_BEARSSL ICBU_REFLOW_CRYPTO_CUSTOM
expect_error "all three" ICBU_REFLOW_CRYPTO_MBEDTLS ICBU_REFLOW_CRYPTO_BEARSSL ICBU_REFLOW_CRYPTO_CUSTOM
expect_error "MBEDTLS + PSA" ICBU_REFLOW_CRYPTO_MBEDTLS ICBU_REFLOW_CRYPTO_PSA
expect_error "all four" ICBU_REFLOW_CRYPTO_MBEDTLS ICBU_REFLOW_CRYPTO_PSA ICBU_REFLOW_CRYPTO_BEARSSL \
    ICBU_REFLOW_CRYPTO_CUSTOM

# --- MBEDTLS on mbedTLS 4.x (its version.h, tests/mbedtls4): the #error that names PSA,
# first, and no md5.h of another installed version reached after it
src="$OUT/mbedtls4.c"
printf '#define ICBU_REFLOW_CRYPTO_MBEDTLS\n#define ICBU_REFLOW_IMPLEMENTATION\n#include "icbu_reflow.h"\n' > "$src"
for cc in $C_COMPILERS; do
    "$cc" -I"$ROOT/tests/mbedtls4" -I"$HDR_DIR" -fsyntax-only "$src" > "$OUT/err.log" 2>&1
    first=$(grep -m1 'error' "$OUT/err.log")
    case "$first" in
        *"mbedTLS 4.x has no public MD5/SHA-256 API: use ICBU_REFLOW_CRYPTO_PSA"*)
            if grep -q 'md5.h' "$OUT/err.log"; then bad "$cc: MBEDTLS on 4.x: md5.h was still included"
            else ok "$cc: MBEDTLS on mbedTLS 4.x stops with the #error that names ICBU_REFLOW_CRYPTO_PSA"; fi ;;
        *) bad "$cc: MBEDTLS on mbedTLS 4.x: first error is not the PSA #error: $first" ;;
    esac
done

# --- the mbedTLS 3.x branch (no _ret suffix), against 3.x-shaped headers in tests/mbedtls3
src="$OUT/mbedtls3.c"
printf '#define ICBU_REFLOW_CRYPTO_MBEDTLS\n#define ICBU_REFLOW_IMPLEMENTATION\n#include "icbu_reflow.h"\n' > "$src"
for cc in $C_COMPILERS; do
    # shellcheck disable=SC2086
    if "$cc" $CFLAGS_STRICT -I"$ROOT/tests/mbedtls3" -I"$HDR_DIR" -c "$src" -o "$OUT/mbedtls3.o" > "$OUT/err.log" 2>&1 &&
       nm -u "$OUT/mbedtls3.o" | grep -q ' mbedtls_sha256_starts$' &&
       ! nm -u "$OUT/mbedtls3.o" | grep -q '_ret$'; then
        ok "$cc: the mbedTLS 3.x branch compiles and calls the 3.x names"
    else
        bad "$cc: the mbedTLS 3.x branch"; sed -n '1,6p' "$OUT/err.log" | sed 's/^/       /'
    fi
done

# --- the numeric settings at other values than their defaults
src="$OUT/settings.c"
printf '#define ICBU_PATH_MAX 16\n#define ICBU_JSON_MAX_DEPTH 4\n#define ICBU_REFLOW_CRYPTO_BEARSSL\n#define ICBU_REFLOW_IMPLEMENTATION\n#include "icbu_reflow.h"\n' > "$src"
for cc in $C_COMPILERS; do build "$cc" "$CFLAGS_STRICT" "$src" "$cc ICBU_PATH_MAX 16, ICBU_JSON_MAX_DEPTH 4"; done

# --- ICBU_JSON_MAX_DEPTH outside 4..63: its own #error
for depth in 3 64; do
    src="$OUT/depth.c"
    printf '#define ICBU_JSON_MAX_DEPTH %s\n#define ICBU_REFLOW_CRYPTO_BEARSSL\n#define ICBU_REFLOW_IMPLEMENTATION\n#include "icbu_reflow.h"\n' "$depth" > "$src"
    if gcc -I"$HDR_DIR" -fsyntax-only "$src" > "$OUT/err.log" 2>&1; then
        bad "ICBU_JSON_MAX_DEPTH $depth: compiled, expected the #error"
    elif grep -q "ICBU_JSON_MAX_DEPTH must be within 4..63" "$OUT/err.log"; then
        ok "ICBU_JSON_MAX_DEPTH $depth: stops with its #error"
    else
        bad "ICBU_JSON_MAX_DEPTH $depth: failed without its #error"
    fi
done

# --- the compiles listed above, in parallel, printed in their order
if ! CC=${GCC:-gcc} "$ROOT/tools/backend_inc.sh" "$BEINC"; then
    bad "the back ends' headers for $ARM_CC and $AVR_CC (tools/backend_inc.sh)"
fi
seq 1 "$njobs" | xargs -P "$JOBS" -n 1 sh "$0" --job
i=0
while [ "$i" -lt "$njobs" ]; do
    i=$((i + 1))
    if [ ! -s "$OUT/res/$i" ]; then bad "compile $i of $JOBLIST: no result"; continue; fi
    cat "$OUT/res/$i"
    first=$(head -n 1 "$OUT/res/$i")
    case $first in
        "ok "*) pass=$((pass + 1)) ;;
        *) fail=$((fail + 1)); failed="$failed$first
" ;;
    esac
done

# --- the schema's limits: what a field descriptor (4 bytes) and a type (32
# fields at most) can hold. Your own types (ICBU_EXTRA_TYPES) at the limit
# compile cleanly; one field or too many types past it stop the build, at the
# check that says which (icbu__max32, or ICBU__FIT in a descriptor).
schema_footer() {   # after a schema: the implementation, and the custom hash's three hooks
    printf '#define ICBU_REFLOW_IMPLEMENTATION\n#define ICBU_REFLOW_CRYPTO_CUSTOM\n#include "icbu_reflow.h"\n'
    printf 'int icbu_custom_hash_init(void *c, icbu_hash_alg a) { (void)c; (void)a; return 0; }\n'
    printf 'int icbu_custom_hash_update(void *c, const void *p, size_t n) { (void)c; (void)p; (void)n; return 0; }\n'
    printf 'int icbu_custom_hash_final(void *c, unsigned char *o) { (void)c; (void)o; return 0; }\n'
}
schema_judge() {   # schema_judge LABEL FILE WANT(ok|MARK): FILE compiles, or fails naming MARK
    if "${GCC:-gcc}" $CFLAGS_STRICT -I"$HDR_DIR" -c "$2" -o "$OUT/schema.o" > "$2.log" 2>&1; then
        if [ "$3" = ok ]; then ok "schema: $1 compiles"; else bad "schema: $1 compiles, but must stop at $3"; fi
    elif [ "$3" = ok ]; then
        bad "schema: $1 does not compile: $(grep -m 2 'error' "$2.log" | tr '\n' ' ')"
    elif grep -q "$3" "$2.log"; then
        ok "schema: $1 stops the build at $3"
    else
        bad "schema: $1 fails, but not at $3: $(grep -m 2 'error' "$2.log" | tr '\n' ' ')"
    fi
}
schema_case() {   # schema_case LABEL TYPES FIELDS WANT: TYPES types x{n} of FIELDS String fields, 40-byte names
    f="$OUT/schema-$2x$3.c"
    awk -v types="$2" -v fields="$3" 'BEGIN {
        for (t = 0; t < types; t++) {
            printf "#define ICBU_FIELDS_x%d(X) \\\n", t
            for (i = 0; i < fields; i++)
                printf "    X(x%d, STR, f%02d_%s, none) \\\n", t, i, "abcdefghijklmnopqrstuvwxyz0123456789a"
            printf "\n"
        }
        printf "#define ICBU_EXTRA_TYPES(X)"
        for (t = 0; t < types; t++) printf " X(x%d)", t
        printf "\n"
    }' > "$f"
    schema_footer >> "$f"
    schema_judge "$1" "$f" "$4"
}
schema_case "4 types of 32 fields, 40-byte names" 4 32 ok
schema_case "a type of 33 fields" 1 33 icbu__max32
# 63 type ids in all (the 64th stands for none): the order's and the answers'
# 10, and 53 of your own; one more stops the build
schema_case "53 types of your own (63 type ids in all)" 53 1 ok
schema_case "54 types of your own (64 type ids in all)" 54 1 ICBU__FIT
schema_case "10 types of 32 fields, 40-byte names (13,000 bytes of names)" 10 32 ICBU__FIT
# ... and how deep objects nest: the writer keeps a level per object in one
# frame, as many as the deepest type needs, 8 at most. DEPTH types y0..: each
# holds the one before it (OBJ), so the last nests DEPTH deep; "self": y0
# holds itself, which no type may.
depth_case() {   # depth_case LABEL DEPTH|self WANT(ok|MARK)
    f="$OUT/depth-$2.c"
    awk -v depth="$2" 'BEGIN {
        n = depth == "self" ? 1 : depth
        for (t = 0; t < n; t++) {
            printf "#define ICBU_FIELDS_y%d(X) \\\n    X(y%d, STR, name, none)", t, t
            if (t > 0) printf " \\\n    X(y%d, OBJ, inner, y%d)", t, t - 1
            if (depth == "self") printf " \\\n    X(y0, OBJ, inner, y0)"
            printf "\n"
        }
        printf "#define ICBU_EXTRA_TYPES(X)"
        for (t = 0; t < n; t++) printf " X(y%d)", t
        printf "\n"
    }' > "$f"
    schema_footer >> "$f"
    schema_judge "$1" "$f" "$3"
}
depth_case "types of your own nested 8 deep" 8 ok
depth_case "types of your own nested 9 deep" 9 icbu__wdepth_at_most_8
depth_case "a type that holds itself" self icbu__wd_y0
# ... and how long a name may be: the reader matches keys in a 64-byte buffer,
# so a field name or an answer's envelope name longer than that stops the build
# (the method's id is its request type's name, as it may be: their checks differ).
name_case() {   # name_case LABEL FIELD-NAME-LENGTH ENVELOPE-NAME-LENGTH WANT(ok|MARK)
    f="$OUT/name-$2-$3.c"
    awk -v fl="$2" -v el="$3" 'BEGIN {
        fn = "f"; while (length(fn) < fl) fn = fn "x"
        en = "e"; while (length(en) < el) en = en "x"
        printf "#define ICBU_FIELDS_z0(X) X(z0, STR, %s, none)\n", fn
        printf "#define ICBU_EXTRA_TYPES(X) X(z0)\n"
        printf "#define ICBU_EXTRA_METHODS(X) X(z0, \"taobao.z.m\", z_request, z0, %s, %s, z0)\n", fn, en
    }' > "$f"
    schema_footer >> "$f"
    schema_judge "$1" "$f" "$4"
}
name_case "a field name and an envelope of 64 bytes" 64 64 ok
name_case "a field name of 65 bytes" 65 64 icbu__names_at_most_64_z0
name_case "an envelope name of 65 bytes" 64 65 icbu__envelope_at_most_64_z0

# --- not counted: ICBU_REFLOW_STATIC in a file that uses only some of the API
src="$OUT/static_partial.c"
{ echo "#define ICBU_REFLOW_STATIC"; echo "#define ICBU_REFLOW_CRYPTO_CUSTOM"
  echo "#define ICBU_REFLOW_IMPLEMENTATION"; echo "#include \"icbu_reflow.h\""
  echo "int icbu_test_partial(void);"
  echo "int icbu_test_partial(void) { return (int)icbu_sign_body(0, 0, 0, 0, 0, 0); }"; } > "$src"
if "${GCC:-gcc}" -std=c99 -Wall -Werror -I"$HDR_DIR" -c "$src" -o "$OUT/x.o" > "$OUT/partial.log" 2>&1; then
    echo "note - ICBU_REFLOW_STATIC with only icbu_sign_body used: clean under -Wall -Werror"
else
    echo "note - ICBU_REFLOW_STATIC with only icbu_sign_body used: $(grep -c 'defined but not used' "$OUT/partial.log") 'defined but not used' errors under -Wall -Werror (not counted)"
fi

# --- not counted: clang++ -Wzero-as-null-pointer-constant (NULL is __null there)
if "${CLANGXX:-clang++}" -x c++ -std=c++11 -Wzero-as-null-pointer-constant -Werror -I"$HDR_DIR" -fsyntax-only \
       "$OUT/m_MBEDTLS-none-extern.c" > "$OUT/zero.log" 2>&1; then
    echo "note - clang++ -Wzero-as-null-pointer-constant: clean"
else
    echo "note - clang++ -Wzero-as-null-pointer-constant: $(grep -c 'error: zero as null' "$OUT/zero.log") errors (not counted), lines $(grep -oE 'icbu_reflow.h:[0-9]+' "$OUT/zero.log" | cut -d: -f2 | sort -un | tr '\n' ' ')"
fi

if [ -n "$failed" ]; then
    echo "the failures again:"
    printf '%s' "$failed"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

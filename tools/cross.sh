#!/bin/sh
# Builds and runs the unit tests on other ABIs: i386 (32-bit little endian),
# armhf (32-bit ARM, under qemu-arm) and s390x (64-bit big endian, under
# qemu-s390x). Every tests/test_*.c is built once per hash back end
# (mbedtls, bearssl, custom = tests/custom_hash.c over BearSSL) and linked
# with that architecture's cmocka and back end from Debian multiarch.
#
#   tools/cross.sh [ARCH...]        default: i386 armhf s390x
#   CROSS_INSTALL=0 tools/cross.sh  never run apt-get (fail if something is missing)
#   TESTS_DIR=/tmp/t tools/cross.sh use another directory of test_*.c
#
# As root it installs what is missing (dpkg --add-architecture, apt-get):
#   gcc-i686-linux-gnu gcc-arm-linux-gnueabihf gcc-s390x-linux-gnu qemu-user
#   libc6-dev-ARCH-cross libcmocka-dev:ARCH libmbedtls-dev:ARCH libbearssl-dev:ARCH
# i386 uses the i686-linux-gnu cross compiler rather than `gcc -m32`: Debian's
# gcc-multilib conflicts with the gcc-*-linux-gnu cross compilers. If
# gcc-multilib is installed instead, set CC_i386="gcc -m32".
#
# Last line: "N passed, N failed" (cmocka's counts, summed by
# tests/run_suites.py when it is there); exit status 1 if any failed.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
OUT="$BUILD/cross"
mkdir -p "$OUT"
TESTS_DIR=${TESTS_DIR:-tests}
ARCHES=${*:-i386 armhf s390x}
CROSS_INSTALL=${CROSS_INSTALL:-1}
CFLAGS_CROSS=${CFLAGS_CROSS:--std=c99 -g -O1 -Wall -Wextra}
start=$(date +%s)

triplet() {
    case $1 in
        i386) echo i686-linux-gnu ;;
        armhf) echo arm-linux-gnueabihf ;;
        s390x) echo s390x-linux-gnu ;;
        *) echo "cross.sh: unknown arch $1" >&2; exit 2 ;;
    esac
}
runner() {
    case $1 in
        i386) echo "" ;;            # the kernel runs i386 code itself (else qemu-i386: see below)
        armhf) echo qemu-arm ;;
        s390x) echo qemu-s390x ;;
    esac
}
cc_for() {
    eval "v=\${CC_$1:-}"
    if [ -n "$v" ]; then echo "$v"; else echo "$(triplet "$1")-gcc"; fi
}

# --- install what is missing
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
need=""
add_arch=""
for a in $ARCHES; do
    cc=$(cc_for "$a")
    set -- $cc
    command -v "$1" >/dev/null 2>&1 || need="$need gcc-$(triplet "$a")"
    r=$(runner "$a")
    [ -z "$r" ] || command -v "$r" >/dev/null 2>&1 || need="$need qemu-user"
    for p in libcmocka-dev libmbedtls-dev libbearssl-dev; do
        installed "$p:$a" || need="$need $p:$a"
    done
    # the C library's headers and crt files for the cross compiler (Arch: all,
    # so not tied to the host's libc6 version as libc6-dev:ARCH would be)
    installed "libc6-dev-$a-cross" || need="$need libc6-dev-$a-cross"
    dpkg --print-foreign-architectures | grep -qx "$a" || [ "$(dpkg --print-architecture)" = "$a" ] || add_arch="$add_arch $a"
done
need=$(echo "$need" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
if [ -n "$need" ] || [ -n "$add_arch" ]; then
    if [ "$CROSS_INSTALL" != 1 ] || [ "$(id -u)" != 0 ]; then
        echo "cross.sh: missing:$add_arch${add_arch:+ (dpkg --add-architecture)} $need" >&2
        echo "run as root: for a in$add_arch; do dpkg --add-architecture \$a; done; apt-get update; apt-get install -y --no-install-recommends $need" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    for a in $add_arch; do dpkg --add-architecture "$a"; done
    echo "cross.sh: installing $need" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true     # a mirror hiccup on one index is not fatal
    # shellcheck disable=SC2086
    if ! apt-get install -y -qq --no-install-recommends $need >"$OUT/apt.log" 2>&1; then
        tail -n 20 "$OUT/apt.log" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

# --- headers the tests generate (the Makefile's $(GEN)), built on the host
if [ -f Makefile ] && [ "$TESTS_DIR" = tests ]; then
    gen=$(printf 'print-gen:\n\t@echo $(GEN)\n' | make -s --no-print-directory -f Makefile -f - print-gen BUILD="$BUILD" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$gen" ] || make -s --no-print-directory $gen BUILD="$BUILD" >/dev/null || { echo "cross.sh: cannot build $gen" >&2; echo "0 passed, 1 failed"; exit 1; }
fi

# --- build
mkdir -p "$OUT"
: > "$OUT/suites.txt"
nbuild_fail=0
nprobe_fail=0
nprobe_pass=0
for a in $ARCHES; do
    cc=$(cc_for "$a")
    r=$(runner "$a")
    mkdir -p "$OUT/$a"
    # the target's own view of itself: byte order and pointer size
    printf '#include <stdio.h>\nint main(void) { unsigned x = 1; printf("%%s %%u\\n", *(unsigned char *)&x ? "little" : "big", (unsigned)(sizeof(void *) * 8)); return 0; }\n' > "$OUT/$a/probe.c"
    want=$(case $a in i386|armhf) echo "little 32" ;; s390x) echo "big 64" ;; esac)
    got=""
    if $cc -o "$OUT/$a/probe" "$OUT/$a/probe.c" > "$OUT/$a/probe.log" 2>&1 && [ -z "$r" ] &&
       ! "$OUT/$a/probe" > /dev/null 2>&1 && command -v "qemu-$a" > /dev/null 2>&1; then
        r="qemu-$a"                 # a kernel without 32-bit support (some containers)
    fi
    if [ -f "$OUT/$a/probe" ] && got=$($r $OUT/$a/probe 2>&1) && [ "$got" = "$want" ]; then
        nprobe_pass=$((nprobe_pass + 1)); echo "ok   - $a: runs${r:+ under $r}, $got-bit"
    else
        nprobe_fail=$((nprobe_fail + 1)); echo "FAIL - $a: expected '$want', got '${got:-}' $(head -n 3 "$OUT/$a/probe.log")"
    fi
    for t in "$TESTS_DIR"/test_*.c; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .c)
        for be in mbedtls bearssl custom; do
            case $be in
                mbedtls) def=-DICBU_REFLOW_CRYPTO_MBEDTLS; libs=-lmbedcrypto; extra= ;;
                bearssl) def=-DICBU_REFLOW_CRYPTO_BEARSSL; libs=-lbearssl; extra= ;;
                custom) def=-DICBU_REFLOW_CRYPTO_CUSTOM; libs=-lbearssl; extra="$TESTS_DIR/custom_hash.c" ;;
            esac
            [ -z "$extra" ] || [ -f "$extra" ] || continue
            bin="$OUT/$a/${name}_$be"
            # shellcheck disable=SC2086
            if $cc $CFLAGS_CROSS -I. -I"$BUILD" -I"$TESTS_DIR" $def -o "$bin" "$t" $extra -lcmocka $libs \
                    > "$bin.log" 2>&1; then
                echo "$a/${name}_$be=$r${r:+ }$bin $OUT/$a" >> "$OUT/suites.txt"
            else
                nbuild_fail=$((nbuild_fail + 1))
                echo "FAIL - build $a $name $be"
                sed -n '1,15p' "$bin.log" | sed 's/^/       /'
            fi
        done
    done
done
if [ ! -s "$OUT/suites.txt" ] && [ "$nbuild_fail" = 0 ]; then
    echo "cross.sh: no $TESTS_DIR/test_*.c" >&2; echo "0 passed, 1 failed"; exit 1
fi

# --- run (one suite per line of suites.txt: "name=command")
rc=0
p=0; f=0
if [ -f tests/run_suites.py ]; then
    set --
    while IFS= read -r line; do set -- "$@" "$line"; done < "$OUT/suites.txt"
    if [ $# -gt 0 ]; then
        python3 tests/run_suites.py "$@" > "$OUT/run.log" 2>&1 || rc=1
        sed '$d' "$OUT/run.log"
        last=$(tail -n 1 "$OUT/run.log")
        p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
        f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    fi
else
    while IFS= read -r line; do
        n=${line%%=*}; c=${line#*=}
        if sh -c "$c" > "$OUT/one.log" 2>&1; then p=$((p + 1)); echo "ok   - $n"
        else f=$((f + 1)); rc=1; echo "FAIL - $n"; tail -n 20 "$OUT/one.log" | sed 's/^/       /'; fi
    done < "$OUT/suites.txt"
fi
p=$(( ${p:-0} + nprobe_pass ))
f=$(( ${f:-0} + nbuild_fail + nprobe_fail ))
[ "$f" = 0 ] || rc=1
echo "cross.sh: $ARCHES in $(( $(date +%s) - start )) s"
echo "$p passed, $f failed"
exit $rc

#!/bin/sh
# tools/backend_inc.sh DIR: the host's back-end headers, for a cross compiler.
#
# Fills DIR with symbolic links to the directories (or files) the host
# compiler finds for <mbedtls/version.h>, <psa/crypto.h> and <bearssl.h>:
# DIR/mbedtls, DIR/psa, DIR/bearssl.h and, where the host has it (Debian's
# bearssl.h includes "bearssl/bearssl.h"), DIR/bearssl. `-isystem DIR` then
# gives arm-none-eabi-gcc or riscv64-unknown-elf-gcc those headers and no other
# header of the host: never put the host's /usr/include on a cross compile
# line, its libc headers are not the target's. (The headers are
# target-independent C; their own libc includes come from the cross
# toolchain's newlib or picolibc.) Used by tools/audit.sh and
# tools/compilers.sh. Exit 1, naming the header, when the host lacks one.
#
# Environment: CC (cc), the host compiler that finds them.
set -u
DIR=${1:?usage: tools/backend_inc.sh DIR}
CC=${CC:-cc}
mkdir -p "$DIR" || exit 1
for h in mbedtls/version.h psa/crypto.h bearssl.h; do
    f=$(printf '#include <%s>\n' "$h" | "$CC" -M -E -x c - 2>/dev/null | tr ' \\' '\n\n' | grep "/$h\$" | head -n 1)
    if [ -z "$f" ]; then
        echo "backend_inc.sh: $CC finds no <$h> (make deps installs libmbedtls-dev and libbearssl-dev)" >&2
        exit 1
    fi
    base=${f%/"$h"}
    case $h in
        */*) ln -sfn "$base/${h%%/*}" "$DIR/${h%%/*}" ;;
        *) ln -sfn "$f" "$DIR/$h"
           if [ -d "$base/bearssl" ]; then ln -sfn "$base/bearssl" "$DIR/bearssl"; fi ;;
    esac
done

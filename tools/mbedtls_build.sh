#!/bin/sh
# Builds one mbedTLS source archive, once, into a cache directory, and prints
# the install prefix (DIR/include, DIR/lib) for `make ... MBEDTLS_PREFIX=DIR`.
#
#   tools/mbedtls_build.sh ARCHIVE CACHE_DIR [PATCH] [-- EXTRA_CMAKE_ARGS...]
#
# ARCHIVE is an mbedtls-X.Y.Z.tar.xz (3.6 or 4.x, as ../shared/thirdparty has
# them: generated files included, no tests/ or programs/). PATCH, if given and
# not "-", is applied with `patch -p1` inside the tree before building.
# The build is CMake, static libraries only, no tests or programs, no Python;
# the result is `cmake --install`ed into CACHE_DIR/prefix. A stamp holding the
# sha256 of the archive, the patch and the arguments makes a second call with
# the same inputs a no-op (about 20 s on 2 cores otherwise). The source tree
# and the CMake build directory live under CACHE_DIR too, outside the
# project's sources. Progress goes to stderr; the prefix alone to stdout.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 ARCHIVE CACHE_DIR [PATCH] [-- CMAKE_ARGS...]" >&2; exit 64; }
archive=$1 cache=$2
shift 2
patch_file=-
if [ $# -gt 0 ] && [ "$1" != -- ]; then patch_file=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = -- ] && shift
[ -f "$archive" ] || { echo "mbedtls_build: no archive $archive" >&2; exit 66; }
[ "$patch_file" = - ] || [ -f "$patch_file" ] || { echo "mbedtls_build: no patch $patch_file" >&2; exit 66; }

abs() { case $1 in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
archive=$(abs "$archive")
[ "$patch_file" = - ] || patch_file=$(abs "$patch_file")
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
stamp_want=$( { sha256sum < "$archive"
                if [ "$patch_file" != - ]; then sha256sum < "$patch_file"; fi
                echo "cmake args: $*"; } | sha256sum | cut -c1-64)
if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp_want" ] &&
   [ -f "$cache/prefix/include/mbedtls/version.h" ]; then
    echo "$cache/prefix"
    exit 0
fi

rm -rf "$cache/src" "$cache/build" "$cache/prefix" "$cache/stamp"
mkdir -p "$cache/src"
t0=$(date +%s)
echo "mbedtls_build: $(basename "$archive") -> $cache/prefix" >&2
tar -xJf "$archive" -C "$cache/src"
top=$(ls "$cache/src")
src="$cache/src/$top"
if [ "$patch_file" != - ]; then
    echo "mbedtls_build: applying $(basename "$patch_file")" >&2
    (cd "$src" && patch -p1 --quiet < "$patch_file")
fi
log="$cache/build.log"
if ! { cmake -S "$src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release \
           -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DMBEDTLS_FATAL_WARNINGS=OFF \
           -DCMAKE_DISABLE_FIND_PACKAGE_Python3=ON -DCMAKE_INSTALL_PREFIX="$cache/prefix" \
           -DCMAKE_INSTALL_LIBDIR=lib "$@" &&
       cmake --build "$cache/build" -j "${JOBS:-2}" &&
       cmake --install "$cache/build"; } > "$log" 2>&1; then
    tail -30 "$log" >&2
    echo "mbedtls_build: building $(basename "$archive") failed; the log is $log" >&2
    exit 1
fi
echo "$stamp_want" > "$cache/stamp"
echo "mbedtls_build: $(basename "$archive") built in $(( $(date +%s) - t0 )) s" >&2
echo "$cache/prefix"

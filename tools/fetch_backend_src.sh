#!/bin/sh
# Fetches the Debian source packages of the two hash back ends (mbedtls,
# bearssl) into $1 (default build/backend-src), for tools/stack.py: the stack
# table compiles their md5/sha256 code with the same flags as the library so
# that the back ends' own frames are measured, not guessed.
#
# Result: $DIR/mbedtls (include/, library/) and $DIR/bearssl (inc/, src/).
# Needs `apt-get source` (deb-src lines); as root, adds them if missing.
set -eu
DIR=${1:-build/backend-src}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

if [ -f "$DIR/mbedtls/library/sha256.c" ] && [ -f "$DIR/bearssl/src/hash/sha2small.c" ]; then
    exit 0
fi

have_src() { apt-get source --print-uris mbedtls >/dev/null 2>&1; }
if ! have_src; then
    if [ "$(id -u)" = 0 ]; then
        echo "fetch_backend_src: adding deb-src for bookworm" >&2
        cat > /etc/apt/sources.list.d/icbu-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        apt-get update >/dev/null 2>&1 || true   # a mirror hiccup elsewhere is not fatal
        have_src || { echo "fetch_backend_src: apt-get source still unavailable" >&2; exit 1; }
    else
        echo "fetch_backend_src: no deb-src configured and not root; put the sources in $DIR/mbedtls and $DIR/bearssl" >&2
        exit 1
    fi
fi

cd "$DIR"
apt-get source --download-only mbedtls bearssl >/dev/null 2>&1 || apt-get source --download-only mbedtls bearssl
for pkg in mbedtls bearssl; do
    rm -rf "$pkg" "$pkg.tmp"
    mkdir "$pkg.tmp"
    tar xf "$(ls ${pkg}_*.orig.tar.* | head -n 1)" -C "$pkg.tmp"
    top=$(ls "$pkg.tmp")
    mv "$pkg.tmp/$top" "$pkg"
    rmdir "$pkg.tmp"
done
echo "fetch_backend_src: $(ls mbedtls_*.dsc bearssl_*.dsc | tr '\n' ' ')-> $DIR/mbedtls $DIR/bearssl" >&2

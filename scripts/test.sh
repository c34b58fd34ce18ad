#!/usr/bin/env bash
# The project's test command: installs the Debian packages the tests need (when missing),
# builds uml in release mode, then runs every test of the workspace (unit tests of all crates
# and the end-to-end tests in integration-tests/, which run programs natively and under uml),
# and the end-to-end tests once more with the trap mechanism that is not the default, once
# with the threaded deployment of the services, and once with one host process running every
# guest process (`--mm single`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Run a command as root: directly when root, through sudo when available.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "test.sh: need root to run: $*" >&2
        return 1
    fi
}

deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
deb_installed busybox-static || missing+=(busybox-static)
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v make >/dev/null 2>&1 || missing+=(make)
[ -x /usr/sbin/ip ] || missing+=(iproute2)

if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "test.sh: warning: missing ${missing[*]} and no apt-get" >&2
    fi
fi

command -v cargo >/dev/null 2>&1 || { echo "test.sh: cargo not found (install Rust)" >&2; exit 1; }

cargo build --release
# Every test with the default trap mechanism, then the end-to-end tests again with the other
# one (UML_TRAP sets `uml run`'s default --trap; tests that name a mechanism keep theirs).
cargo test --release --workspace
UML_TRAP=ptrace cargo test --release -p integration-tests
# And with the services on threads of their own (`uml run --deploy threads`).
UML_DEPLOY=threads cargo test --release -p integration-tests
# And with every guest process in one host process (`uml run --mm single`).
UML_MM=single cargo test --release -p integration-tests

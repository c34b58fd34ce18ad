#!/usr/bin/env bash
# Builds uml and runs unmodified static programs (busybox applets and a busybox sh pipeline)
# under it, on the default root: the host's / read-only under an in-memory overlay.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static
fi

cargo build --release

set -x
"${CARGO_TARGET_DIR:-target}"/x86_64-unknown-linux-gnu/release/uml run -- busybox uname -a
"${CARGO_TARGET_DIR:-target}"/x86_64-unknown-linux-gnu/release/uml run -- busybox ls -la /
"${CARGO_TARGET_DIR:-target}"/x86_64-unknown-linux-gnu/release/uml run -- busybox sh -c 'for f in /etc/*.conf; do echo "$f"; done | busybox wc -l; busybox echo "written in the sandbox" > /etc/uml-demo && busybox cat /etc/uml-demo'
test ! -e /etc/uml-demo && echo "the host's /etc is unchanged"

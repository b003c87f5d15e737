#!/usr/bin/env bash
# The Debian packages mcusim needs: the Arm cross-compiler with newlib (nano), and Fashion-MNIST.
# Installs what is missing with apt when it can (as root, or with password-less sudo); otherwise prints
# the one command to run. Idempotent: prints nothing and exits 0 when everything is present.
set -euo pipefail

have_toolchain() {
    command -v arm-none-eabi-gcc >/dev/null 2>&1 &&
        [ "$(arm-none-eabi-gcc -print-file-name=nano.specs)" != "nano.specs" ]
}
have_fashion_mnist() {
    [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]
}
missing() {
    have_toolchain || printf '%s ' gcc-arm-none-eabi libnewlib-arm-none-eabi
    have_fashion_mnist || printf '%s ' dataset-fashion-mnist
}

PACKAGES="$(missing)"
[ -z "$PACKAGES" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "mcusim needs these Debian packages. Run, as root:" >&2
    echo "    apt-get update && apt-get install -y $PACKAGES" >&2
    exit 1
fi
echo "installing $PACKAGES..." >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086  # a list of package names
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
STILL="$(missing)"
[ -z "$STILL" ] || { echo "still missing after apt-get install: $STILL" >&2; exit 1; }

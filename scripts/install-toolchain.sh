#!/usr/bin/env bash
# Make sure the Arm cross-compiler and newlib (nano) are installed; install them with apt when we can.
# Idempotent: prints nothing and exits 0 when everything is present.
set -euo pipefail
PACKAGES="gcc-arm-none-eabi libnewlib-arm-none-eabi"

have_toolchain() {
    command -v arm-none-eabi-gcc >/dev/null 2>&1 &&
        [ "$(arm-none-eabi-gcc -print-file-name=nano.specs)" != "nano.specs" ]
}

have_toolchain && exit 0
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "mcusim needs the Arm cross-compiler and newlib. Run, as root:" >&2
    echo "    apt-get update && apt-get install -y $PACKAGES" >&2
    exit 1
fi
echo "installing $PACKAGES ..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
have_toolchain || { echo "arm-none-eabi-gcc or newlib-nano still missing after apt-get install" >&2; exit 1; }

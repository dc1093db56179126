#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, run and test. Run as root.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git ca-certificates curl tar gzip python3 tzdata
  libboost-dev libpqxx-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev libisal-dev libgtest-dev zlib1g-dev binutils libpg-query-dev
  postgresql postgresql-client
  chromium chromium-driver fonts-dejavu-core debootstrap patchelf
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

#!/usr/bin/env bash
# Install the Debian packages bdd needs to build and test, if any is missing.
set -euo pipefail

packages=(g++ cmake make pkg-config libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev
          libspdlog-dev libsqlitecpp-dev libsqlite3-dev catch2 libcpp-httplib-dev libssl-dev zlib1g-dev curl
          time python3 openssl)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

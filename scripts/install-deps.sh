#!/usr/bin/env bash
# Install the Debian packages bdd needs to build and test, if any is missing.
set -euo pipefail

packages=(g++ cmake make pkg-config libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev
          libspdlog-dev libsqlitecpp-dev libsqlite3-dev catch2 libcpp-httplib-dev libssl-dev zlib1g-dev curl
          # bdd export: --format xlsx (libxlsxwriter) and --zip (libzip); the tests read xlsx with openpyxl
          libxlsxwriter-dev libzip-dev python3-openpyxl
          # the parquet format's ZSTD pages
          libzstd-dev
          time python3 openssl
          # scripts/tidy.sh (scripts/sanitize.sh and scripts/tsan.sh need only g++: it brings
          # the ASan, UBSan, LSan and TSan runtimes)
          clang-tidy
          # tests/loaders: the README's one-liners in pandas and R
          python3-pandas r-base-core r-cran-jsonlite r-cran-rsqlite
          # tests/report: report.html opened in headless chromium
          chromium
          # the Python module (python/: pybind11, `pip install --no-build-isolation ./python`
          # with the system's setuptools) and its tests (pytest, a venv)
          pybind11-dev python3-pybind11 python3-dev python3-setuptools python3-wheel python3-pip
          python3-venv python3-pytest)
# ... and in DuckDB, through its npm package: Debian's node and npm unless a node with npm is
# already installed (another distribution's nodejs conflicts with Debian's npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
fi

# DuckDB for tests/loaders, pinned by its package-lock.json, into tests/loaders/node_modules.
install_duckdb() {
    local loaders
    loaders="$(cd "$(dirname "$0")/../tests/loaders" && pwd)"
    if [ ! -f "$loaders/node_modules/.package-lock.json" ] \
        || [ "$loaders/package-lock.json" -nt "$loaders/node_modules/.package-lock.json" ]; then
        echo "installing DuckDB for tests/loaders (npm ci)"
        (cd "$loaders" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    install_duckdb
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_duckdb

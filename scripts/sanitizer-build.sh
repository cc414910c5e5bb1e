# Sourced by scripts/sanitize.sh and scripts/tsan.sh (not run on its own): from the top of the
# source tree, install what is missing and provide `sanitizer_build <dir> <cmake option>
# <target>...`, which configures <dir> with the option on (BDD_ENABLE_ASAN or BDD_ENABLE_TSAN)
# and builds the targets. RelWithDebInfo keeps the tests fast enough. No -Werror there: GCC 12
# warns maybe-uninitialized inside std::regex under ASan (not bdd's code); the normal build
# (scripts/build.sh) is the -Werror one. CMAKE_CXX_COMPILER_LAUNCHER (ccache) is passed on.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh

sanitizer_build() {
  local dir=$1 option=$2
  shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -D"$option"=ON -DBDD_WERROR=OFF \
    ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER="$CMAKE_CXX_COMPILER_LAUNCHER"} \
    >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target "$@"
}

# Temporary directories on tmpfs, as ctest gives the unit tests (tests/CMakeLists.txt).
if [[ -d /dev/shm ]]; then
  export TMPDIR=/dev/shm
fi

# bdd_settings: flags for bdd's own targets only (never applied to dependency headers).
add_library(bdd_settings INTERFACE)
target_compile_options(bdd_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wextra-semi)
if(BDD_WERROR)
  target_compile_options(bdd_settings INTERFACE -Werror)
endif()
# scripts/sanitize.sh and scripts/tsan.sh. UBSan findings stop the test (no recovery), as ASan's do.
if(BDD_ENABLE_ASAN AND BDD_ENABLE_TSAN)
  message(FATAL_ERROR "BDD_ENABLE_ASAN and BDD_ENABLE_TSAN cannot be combined")
endif()
if(BDD_ENABLE_ASAN)
  target_compile_options(bdd_settings INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(bdd_settings INTERFACE -fsanitize=address,undefined)
endif()
if(BDD_ENABLE_TSAN)
  target_compile_options(bdd_settings INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(bdd_settings INTERFACE -fsanitize=thread)
endif()
target_compile_definitions(bdd_settings INTERFACE BDD_VERSION="${PROJECT_VERSION}")

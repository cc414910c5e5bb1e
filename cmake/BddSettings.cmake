# bdd_settings: flags for bdd's own targets only (never applied to dependency headers).
add_library(bdd_settings INTERFACE)
target_compile_options(bdd_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wextra-semi)
if(BDD_WARNINGS_AS_ERRORS)
  target_compile_options(bdd_settings INTERFACE -Werror)
endif()
if(BDD_ENABLE_ASAN)
  target_compile_options(bdd_settings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(bdd_settings INTERFACE -fsanitize=address,undefined)
endif()
target_compile_definitions(bdd_settings INTERFACE BDD_VERSION="${PROJECT_VERSION}")

#include "sqlite_settings.hpp"

#include <sqlite3.h>

namespace bdd::tracking {

void disable_sqlite_memory_statistics() {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

} // namespace bdd::tracking

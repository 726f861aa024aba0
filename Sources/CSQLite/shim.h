// System libsqlite3 (Debian: libsqlite3-dev).
#include <sqlite3.h>

// SQLITE_TRANSIENT is ((sqlite3_destructor_type)-1): a cast macro Swift cannot import.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

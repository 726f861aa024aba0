// libzstd through pkg-config (Debian: libzstd-dev).
#include <zstd.h>
#include <zstd_errors.h>

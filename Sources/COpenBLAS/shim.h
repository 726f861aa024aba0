// Debian OpenBLAS (pthread build) through pkg-config "openblas" (libopenblas-dev).
#include <cblas.h>

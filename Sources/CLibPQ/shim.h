// libpq has no variadic functions: its API imports into Swift as is.
#ifndef DIRSYNC_CLIBPQ_SHIM_H
#define DIRSYNC_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif

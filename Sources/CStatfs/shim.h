// statfs(2), whose f_type names the file system (libc; Swift's Glibc module leaves sys/vfs.h out).
#include <sys/vfs.h>

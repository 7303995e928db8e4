#include "polympc/mpc/allocator.h"

#include <climits>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace polympc::mpc {

bool keep_large_allocations_in_heap() {
#if defined(__GLIBC__)
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
#else
  return false;
#endif
}

}  // namespace polympc::mpc

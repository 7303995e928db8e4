// Process-wide allocation policy for the protocol runtime.
//
// The protocols allocate and free many large, short-lived vectors (shares, openings,
// material, bit planes; megabytes per call at batch 100). glibc serves each allocation
// above its mmap threshold (128 KiB, rising to at most 32 MiB) with a fresh mmap and
// returns it with munmap on free, so every call pays page faults to zero new pages; that
// was more than half of the cpu backend's online time. With this policy large blocks come
// from the heap and freed memory stays there for the next call.
#pragma once

namespace polympc::mpc {

/// Asks the C allocator to serve large allocations from the heap and not to return freed
/// memory to the OS (glibc: mallopt(M_MMAP_MAX, 0), mallopt(M_TRIM_THRESHOLD, INT_MAX); a
/// thread arena still maps a block larger than its 64 MiB heaps). Measured here with 200
/// test images (`polympc infer`): online 12.7 -> 5.0 ms per image, dealer 2.5x faster, peak
/// memory +7 %. Call once at the start of a program (the `polympc` CLI and the test
/// binaries do); a library must not call it for its host. No effect without glibc.
/// Returns whether the allocator accepted the policy.
bool keep_large_allocations_in_heap();

}  // namespace polympc::mpc

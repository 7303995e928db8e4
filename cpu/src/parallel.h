// Fork-join partitioning of an index range over OpenMP's thread pool (cpu/ private header).
//
// OpenMP (GCC's libgomp) keeps the team of worker threads of each calling thread alive
// between parallel regions, so a Backend call no longer starts and joins std::threads (the
// two parties of an in-process run each get their own team). When more threads wait than
// there are cores, libgomp sleeps instead of spinning.
#pragma once
#include <algorithm>
#include <cstddef>

namespace polympc::cpu::detail {

/// Calls fn(begin, end) on disjoint parts covering [0, n). Uses at most `threads` parts,
/// each at least `grain` long (except the last), part boundaries multiples of `align`.
/// The parts run on the calling thread's OpenMP team (the calling thread runs one);
/// fn must not throw.
template <class F>
void parallel_for(int threads, size_t n, size_t grain, size_t align, F&& fn) {
  if (n == 0) return;
  size_t parts = std::min<size_t>(threads > 0 ? size_t(threads) : 1, (n + grain - 1) / grain);
  if (parts <= 1) {
    fn(size_t(0), n);
    return;
  }
  size_t chunk = (n + parts - 1) / parts;
  chunk = (chunk + align - 1) / align * align;
  const long count = static_cast<long>((n + chunk - 1) / chunk);
#pragma omp parallel for num_threads(static_cast<int>(count)) schedule(static, 1)
  for (long p = 0; p < count; ++p) {
    const size_t begin = static_cast<size_t>(p) * chunk;
    fn(begin, std::min(n, begin + chunk));
  }
}

}  // namespace polympc::cpu::detail

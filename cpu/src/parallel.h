// Fork-join partitioning of an index range over std::threads (cpu/ private header).
#pragma once
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace polympc::cpu::detail {

/// Calls fn(begin, end) on disjoint parts covering [0, n). Uses at most `threads` parts,
/// each at least `grain` long (except the last), part boundaries multiples of `align`.
/// The calling thread runs the first part; fn must not throw.
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
  std::vector<std::thread> workers;
  workers.reserve(parts - 1);
  for (size_t begin = chunk; begin < n; begin += chunk)
    workers.emplace_back([&fn, begin, end = std::min(n, begin + chunk)] { fn(begin, end); });
  fn(size_t(0), std::min(n, chunk));
  for (std::thread& t : workers) t.join();
}

}  // namespace polympc::cpu::detail

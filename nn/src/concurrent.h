// Runs n tasks at the same time (nn/src private header): the executor's workers
// (inference.cpp) and a party's tiling lanes (secure.cpp).
#pragma once
#include <cstddef>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "polympc/mpc/errors.h"

namespace polympc::nn::detail {

/// Calls fn(i) for i in [0, n): fn(0) on the calling thread, the others on threads of their
/// own; waits for all. A task's error does not stop the others (each task talks only to its
/// own peer, which stops it by closing the channel when it fails). Rethrows the first error
/// that is not a ChannelError (the root cause, not a task stopped by its peer), else the
/// first ChannelError.
inline void run_concurrently(size_t n, const std::function<void(size_t)>& fn) {
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i)
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  if (n > 0) {
    try {
      fn(0);
    } catch (...) {
      errors[0] = std::current_exception();
    }
  }
  for (auto& t : threads) t.join();
  std::exception_ptr channel_error;
  for (auto& e : errors) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const mpc::ChannelError&) {
      if (!channel_error) channel_error = e;
    } catch (...) {
      throw;
    }
  }
  if (channel_error) std::rethrow_exception(channel_error);
}

}  // namespace polympc::nn::detail

// Device model registry: every extern "C" top of hls/kernels.json, callable on unpacked
// arguments (see device_model.h).
#include "device_model.h"

#include <cstring>
#include <type_traits>
#include <utility>

#include "polympc/hls/kernel_signatures.h"
#include "polympc/hls/kernel_tops.h"

namespace polympc::host::detail {
namespace {

/// Converts one unpacked argument to the top's parameter type.
template <class T>
T take(const DeviceArg& a) {
  if constexpr (std::is_pointer_v<T>)
    return static_cast<T>(a.ptr);
  else
    return static_cast<T>(a.scalar);
}

template <class... A>
constexpr size_t arity(void (*)(A...)) {
  return sizeof...(A);
}

template <class... A, size_t... I>
void call_top(void (*fn)(A...), const DeviceArg* args, std::index_sequence<I...>) {
  fn(take<A>(args[I])...);
}

template <auto Top>
void invoke(const DeviceArg* args) {
  call_top(Top, args, std::make_index_sequence<arity(Top)>{});
}

struct Entry {
  const char* name;
  DeviceModelFn fn;
};

// One entry per described kernel (the list is generated from hls/kernels.json).
#define POLYMPC_DEVICE_MODEL_ENTRY(top) {#top, &invoke<&::top>},
const Entry kModels[] = {POLYMPC_FOR_EACH_KERNEL_TOP(POLYMPC_DEVICE_MODEL_ENTRY)};
#undef POLYMPC_DEVICE_MODEL_ENTRY

// kernel_tops.h is generated from the same description as the table, so this holds by
// construction; the check keeps the two generated files honest.
#define POLYMPC_DEVICE_MODEL_CHECK(top)                                                          \
  static_assert(arity(&::top) == hls::kKernelTable[hls::find_kernel_index(#top)].num_args,       \
                "kernel top " #top " does not match hls/kernels.json");
POLYMPC_FOR_EACH_KERNEL_TOP(POLYMPC_DEVICE_MODEL_CHECK)
#undef POLYMPC_DEVICE_MODEL_CHECK

}  // namespace

DeviceModelFn device_model(const char* name) {
  for (const Entry& e : kModels)
    if (std::strcmp(e.name, name) == 0) return e.fn;
  return nullptr;
}

}  // namespace polympc::host::detail

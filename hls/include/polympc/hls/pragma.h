// HLS pragma helpers usable from C++14 kernels (docs/design.md §7).
//
// POLYMPC_HLS(PIPELINE II=1) expands to _Pragma("HLS PIPELINE II=1") when Vitis HLS
// compiles the code (__SYNTHESIS__ defined) and to nothing otherwise, so host compilers
// never see unknown pragmas (-Wunknown-pragmas under -Wall). Write it as the first
// statement of the loop body / function it governs, without a trailing semicolon.
//
// POLYMPC_KERNEL_BEGIN / POLYMPC_KERNEL_END bracket a kernel header: loop labels are
// required by the house style (named loops in HLS reports) but are never goto targets,
// which GCC reports with -Wunused-label; the pair silences exactly that warning.
#pragma once

#define POLYMPC_HLS_STRINGIFY_(...) #__VA_ARGS__
#define POLYMPC_HLS_PRAGMA_(...) _Pragma(POLYMPC_HLS_STRINGIFY_(__VA_ARGS__))

#ifdef __SYNTHESIS__
#define POLYMPC_HLS(...) POLYMPC_HLS_PRAGMA_(HLS __VA_ARGS__)
#else
#define POLYMPC_HLS(...)
#endif

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#define POLYMPC_KERNEL_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-label\"")
#define POLYMPC_KERNEL_END _Pragma("GCC diagnostic pop")
#else
#define POLYMPC_KERNEL_BEGIN
#define POLYMPC_KERNEL_END
#endif

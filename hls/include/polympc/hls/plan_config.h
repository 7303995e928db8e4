// A plan's kernel configuration for synthesis (docs/scheduler.md). `polympc schedule
// --hls-config FILE` writes a header that defines POLYMPC_<KERNEL>_CONFIG as configurations
// derived from the kernels' DefaultConfigs. The hls/ flow (CMake -DPOLYMPC_HLS_PLAN_CONFIG=FILE)
// copies it to <build>/hls/plan/polympc_plan_config.h and compiles every kernel and test
// bench with -DPOLYMPC_PLAN_CONFIG -I<build>/hls/plan. Each kernel top includes this file
// and falls back to its DefaultConfig when its macro is not set.
#pragma once
#ifdef POLYMPC_PLAN_CONFIG
#include "polympc_plan_config.h"
#endif

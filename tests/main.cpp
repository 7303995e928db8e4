// The test binaries' main: the CLI's allocation policy (mpc/allocator.h), then GoogleTest.
#include <gtest/gtest.h>

#include "polympc/mpc/allocator.h"

int main(int argc, char** argv) {
  polympc::mpc::keep_large_allocations_in_heap();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

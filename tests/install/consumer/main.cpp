// Uses the installed libraries: a 2PC multiplication on the simulation backend checked
// against its plaintext product, and the performance model and scheduler on the installed
// board files. Prints "consumer ok" and exits 0 when everything agrees.
#include <cstdio>

#include "polympc/mpc/ring.h"
#include "polympc/perfmodel/query.h"
#include "polympc/scheduler/allocate.h"
#include "polympc/sim/sim_backend.h"

int main() {
  namespace pm = polympc::perfmodel;
  // The kernels' simulation: Beaver combine of x*y with a trivial triple (a = b = c = 0).
  polympc::sim::SimBackend be;
  const uint64_t d = 7, e = 6, zero = 0;
  uint64_t z0 = 0, z1 = 0;
  be.beaver_mul_combine(0, 64, 1, &d, &e, &zero, &zero, &zero, &z0);
  be.beaver_mul_combine(1, 64, 1, &d, &e, &zero, &zero, &zero, &z1);
  if (z0 + z1 != 42) {
    std::printf("beaver_mul_combine gave %llu\n", static_cast<unsigned long long>(z0 + z1));
    return 1;
  }
  pm::Query q;
  q.board = "u280";
  const pm::Model m = pm::make_model(q);
  const pm::NetShape net = pm::make_net("resnet18-cifar", "");
  const polympc::scheduler::Allocation a = polympc::scheduler::allocate(m, net);
  if (!(a.latency_s > 0) || !polympc::scheduler::fits(a.used, a.budget)) return 1;
  std::printf("consumer ok: data %s, resnet18-cifar on u280 modelled %.1f ms\n", pm::default_data_dir().c_str(),
              a.latency_s * 1e3);
  return 0;
}

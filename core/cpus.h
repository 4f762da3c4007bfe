// The CPUs this process may run on (its affinity mask), in order. The
// shards are pinned to them (core/server.cc), ringmx-bench --pin pins its
// threads to them, and the steering tests pin clients to them. Never empty:
// when the mask cannot be read, CPU 0.
#pragma once

#include <sched.h>

#include <vector>

namespace ringmx::core {

inline std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

}  // namespace ringmx::core

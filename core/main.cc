// Placeholder until the configuration layer lands; replaced by the CLI.
#include <cstdio>
int main() {
  std::puts("ringmx 0.1.0");
  return 0;
}

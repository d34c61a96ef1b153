// Placeholder until the mount lands (issue 3): prints the usage.
#include <cstdio>

int main() {
  std::puts("usage: heasarcfs MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]");
  return 0;
}

#pragma once
// CHECK guards invariants of our own code. A failed check is a bug: it logs the condition and
// location and aborts. Never use it on anything that arrives from the network or the disk.

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
#define CHECK_LE(a, b) CHECK((a) <= (b))
#define CHECK_EQ(a, b) CHECK((a) == (b))

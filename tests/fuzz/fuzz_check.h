// Assertion helper shared by the fuzz targets: a broken invariant must crash loudly even in builds
// where NDEBUG turns assert() off, and say which invariant it was before libFuzzer prints the
// stack.
#pragma once

#include <cstdio>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                 \
    }                                                                                   \
  } while (0)

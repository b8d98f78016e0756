// For the .cpp files whose AVX-512 micro-kernels are defined and inlined in them (sgemm.cpp,
// conv2d_implicit.cpp, conv2d_bf16.cpp). GCC 12's AVX-512 intrinsics (_mm512_unpacklo_ps,
// _mm512_reduce_add_ps, ...) start from _mm512_undefined_ps() and trip -Wuninitialized and
// -Wmaybe-uninitialized once inlined: a known false positive. The pragmas hold to the end of
// the file that includes this one, which is the point: include it from those .cpp files only,
// never from a header.
#pragma once

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

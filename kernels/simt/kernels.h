// The interpreted kernel families for the tests: kernels/cuda's plain C++ headers, declared
// in namespace sr::simt (the names srengine_simt defines; see CMakeLists.txt). Include it
// before any other srengine header: its headers are read once per translation unit, so a
// unit that uses these must not also use the real sr::cuda kernels.
#pragma once
#define cuda simt
#include "kernels/cuda/activation.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_variants.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/prelu.h"
#include "kernels/cuda/rdb.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/resample.h"
#include "kernels/cuda/spectral_norm.h"
#undef cuda
#include "kernels/simt/device.h"

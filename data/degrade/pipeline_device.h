// Real-ESRGAN's degradation of a whole batch on a device (cuda, or simt for the tests):
// the steps of pipeline.h, from the same DegradationParams the CPU pipeline consumes, run
// by the batch kernels of kernels/cuda/degrade_*.h, so one batch's LQ is the CPU's LQ (up
// to the blur's float sums; tests/test_simt_degrade_pipeline.cpp) on any device.
#pragma once
#include "data/degrade/pipeline.h"
#include "engine/tensor.h"

namespace sr::data::degrade {

// One step on x, a contiguous float32 (B, 3, h, w) batch on a cuda or simt device with
// B = p.batch(); returns the result (x itself, updated, for the in-place steps).
Tensor apply_step_device(const Tensor& x, const DegradationParams& p, DegradationStep step);

// The whole pipeline on gt (B, 3, p.height, p.width): the LQ batch (B, 3, H/s, W/s),
// values k/255, on gt's device. gt is not modified.
Tensor degrade_batch_device(const Tensor& gt, const DegradationParams& p);

}  // namespace sr::data::degrade

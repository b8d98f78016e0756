// PReLU on CUDA: the twin of kernels/cpu/prelu.h (per-channel or shared slope a).
#pragma once
#include <cstdint>

namespace sr::cuda {

void prelu_forward(const float* x, const float* a, float* y, int64_t N, int64_t C, int64_t HW,
                   bool shared);
// dx = dy * (x > 0 ? 1 : a[c]); da[c] += sum over n, i of dy * x where x <= 0 (per-channel
// sums by reduce.h's deterministic channel_sum; with a shared a, the channel sums are added
// into da[0] in channel order, as the CPU does). dx or da may be null.
void prelu_backward(const float* x, const float* a, const float* dy, float* dx, float* da, int64_t N,
                    int64_t C, int64_t HW, bool shared);

}  // namespace sr::cuda

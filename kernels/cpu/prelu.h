// PReLU on the CPU: y = x for x > 0, a[c] * x otherwise, per channel c of NCHW
// (one shared a when the weight has length 1, as nn.PReLU() with num_parameters=1).
#pragma once
#include <cstdint>

namespace sr::cpu {

// x, y: (N, C, HW) contiguous; a has C entries, or 1 when `shared`.
template <typename T>
void prelu_forward(const T* x, const T* a, T* y, int64_t N, int64_t C, int64_t HW, bool shared);
// dx = dy * (x > 0 ? 1 : a[c]); da[c] += sum over n, i of dy * (x > 0 ? 0 : x).
// dx or da may be null when that gradient is not wanted.
template <typename T>
void prelu_backward(const T* x, const T* a, const T* dy, T* dx, T* da, int64_t N, int64_t C,
                    int64_t HW, bool shared);

}  // namespace sr::cpu

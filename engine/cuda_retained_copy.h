// A host->device copy that owns its host bytes, for the tables the multi-tensor kernels read
// (kernels/cuda/optimizer.cu): defined by engine/cuda_runtime.cu (a GPU) and
// kernels/simt/runtime.cpp (the simt device, where this namespace is sr::simt).
#pragma once
#include <vector>

namespace sr::cuda {

// Copies `src` to device memory `dst` and keeps the bytes as long as the copy may read them:
// outside a stream capture until the copy has taken them (it returns after staging); inside
// one for the graph's lifetime, because every replay reads them again (on a GPU the graph
// retains them as a CUDA user object; on simt the recorded copy holds them).
void memcpy_to_device_retained(void* dst, std::vector<char>&& src);

}  // namespace sr::cuda

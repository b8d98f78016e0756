// How many times this process's host has waited for an accelerator to hand back a value: a
// device->host copy (Tensor::item, to_vector, .to(Device::cpu())), a synchronize(), a
// StreamMark::wait(), on a GPU (engine/cuda_runtime.cu) or on the simt device
// (kernels/simt/runtime.cpp), over all threads. Host->device copies and launches do not count.
// Tests assert with it that a training step keeps its values on the device between log lines.
#pragma once
#include <cstdint>

namespace sr {

uint64_t host_round_trips();

}  // namespace sr

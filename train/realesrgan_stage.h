// What the Real-ESRGAN stage types (realesrnet: RealESRNetModel, realesrgan:
// RealESRGANModel) add around the training step: the data they train on (where USM
// sharpening applies to a RealESRGANDataset batch), their training-pair pool and its place
// in the training state, and the USM-sharpened GT patch their losses compare with.
#pragma once
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "train/comm.h"
#include "train/config_types.h"
#include "train/pair_pool.h"

namespace sr::train {

// datasets.train as `stage` trains on it. RealESRGANDataset: realesrnet sharpens the GT
// crop when gt_usm is on and degrades from it (its target is the sharpened crop);
// realesrgan always degrades from the sharpened crop and keeps the plain GT as the batch's
// target (its losses sharpen the patch: usm_sharp_batch).
// degrade_on resolves against `device` (the training device): auto is device on cuda, cpu
// elsewhere; device on the CPU is an error naming the key.
data::DataConfig training_data(const Config& cfg, const StageConfig& stage, Device device = Device::cpu());

// The pair a stage trains on, on `device`: a loader batch moved there, or, when the loader
// left the degradation to the device (degrade_on), made there from its crops.
void batch_on_device(const data::Batch& batch, Device device, Tensor* lq, Tensor* gt);

// The pool of a realesrnet / realesrgan stage on a RealESRGANDataset with queue_size > 0
// (BasicSR's: paired fine-tuning has none), else null.
std::unique_ptr<PairPool> make_pair_pool(const Config& cfg, const StageConfig& stage, size_t stage_index, int rank);

// Every rank's pool, gathered for rank 0's training state: "pair_pool.lq" / "pair_pool.gt"
// of shape (world_size, filled, ...). Collective: every rank calls it.
NamedTensors gather_pair_pool(const PairPool& pool, Communicator& comm, Device device);
// Restores this rank's slice from a training state's tensors; false (the pool refills)
// when the state has none or was written by another world size.
bool restore_pair_pool(PairPool& pool, const NamedTensors& state, int rank, int world_size);

// USM(gt) for each image of a (B, 3, H, W) batch (data/degrade/usm_sharp.h), on gt's device
// (there by its CUDA twin, kernels/cuda/degrade_usm_sharp.h: nothing read back).
Tensor usm_sharp_batch(const Tensor& gt);

}  // namespace sr::train

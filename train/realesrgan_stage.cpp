// The Real-ESRGAN stage types' data, pool and sharpened targets (see realesrgan_stage.h).
#include "train/realesrgan_stage.h"

#include <cstring>

#include "data/degrade/usm_sharp.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "kernels/cuda/degrade_usm_sharp.h"

namespace sr::train {

data::DataConfig training_data(const Config& cfg, const StageConfig& stage, Device device) {
  const DatasetConfig* train = cfg.find_dataset("train");
  SR_CHECK(train, "config: 'datasets.train' is required for training");
  data::DataConfig d = train->data;
  if (d.type == data::DatasetType::realesrgan) {
    SR_CHECK(stage.realesrgan_family(), "stage '", stage.name, "' (", stage.type,
             "): datasets.train is a RealESRGANDataset, whose pairs are made for realesrnet / realesrgan stages");
    const bool esrgan = stage.type == "realesrgan";
    d.degrade_from_usm = esrgan || cfg.gt_usm;
    d.usm_gt = !esrgan && cfg.gt_usm;
    SR_CHECK(d.degrade_on == "auto" || d.degrade_on == "cpu" || d.degrade_on == "device",
             "config: 'datasets.train.degrade_on' must be auto, cpu or device, got '", d.degrade_on, "'");
    SR_CHECK(d.degrade_on != "device" || !device.is_cpu(), "config: 'datasets.train.degrade_on' is device, but ",
             "training runs on the CPU (device: cpu): use cpu or auto, or train on cuda");
    d.degrade_on_device = d.degrade_on == "device" || (d.degrade_on == "auto" && device.is_cuda());
  }
  return d;
}

void batch_on_device(const data::Batch& batch, Device device, Tensor* lq, Tensor* gt) {
  if (!batch.degradation) {
    *lq = batch.lq.to(device);
    *gt = batch.gt.to(device);
    return;
  }
  SR_CHECK(!device.is_cpu(), "training: a batch left for the device to degrade reached a CPU stage");
  data::degrade::degrade_crops_on_device(batch.gt.to(device), *batch.degradation, lq, gt);
}

std::unique_ptr<PairPool> make_pair_pool(const Config& cfg, const StageConfig& stage, size_t stage_index, int rank) {
  const DatasetConfig* train = cfg.find_dataset("train");
  if (!stage.realesrgan_family() || !train || train->data.type != data::DatasetType::realesrgan || cfg.queue_size == 0)
    return nullptr;
  return std::make_unique<PairPool>(cfg.queue_size, train->data.batch_size_per_gpu, cfg.manual_seed, stage_index,
                                    rank);
}

NamedTensors gather_pair_pool(const PairPool& pool, Communicator& comm, Device device) {
  const int world = comm.world_size(), rank = comm.rank();
  NamedTensors out;
  for (const auto& [name, t] : pool.state()) {
    std::vector<int64_t> one = t.shape().vec(), all_shape = one;
    one.insert(one.begin(), 1);
    all_shape.insert(all_shape.begin(), world);
    if (world == 1) {
      out.push_back({"pair_pool." + name, t.reshape(Shape(one))});
      continue;
    }
    // Each rank writes its slot of a zeroed (world, ...) tensor; the sum over ranks is the
    // gather (exact: every element has one non-zero term).
    Tensor all = Tensor::zeros(Shape(all_shape));
    all.narrow(0, rank, 1).copy_(t.reshape(Shape(one)));
    Tensor on_device = all.to(device);
    comm.all_reduce(on_device, false);
    out.push_back({"pair_pool." + name, on_device.to(Device::cpu())});
  }
  return out;
}

bool restore_pair_pool(PairPool& pool, const NamedTensors& state, int rank, int world_size) {
  Tensor lq, gt;
  for (const auto& [name, t] : state) {
    if (name == "pair_pool.lq") lq = t;
    if (name == "pair_pool.gt") gt = t;
  }
  if (!lq.defined() || !gt.defined() || lq.shape()[0] != world_size || gt.shape()[0] != world_size) return false;
  auto slice = [&](const Tensor& t) {
    const std::vector<int64_t> dims = t.shape().vec();
    return t.narrow(0, rank, 1).contiguous().reshape(Shape(std::vector<int64_t>(dims.begin() + 1, dims.end())));
  };
  pool.load_state(slice(lq), slice(gt));
  return true;
}

Tensor usm_sharp_batch(const Tensor& gt) {
  SR_CHECK(gt.dim() == 4 && gt.shape()[1] == 3, "usm_sharp_batch: expected a (B, 3, H, W) batch, got ", gt.str());
  SR_CHECK(gt.dtype() == DType::f32, "usm_sharp_batch: expected float32, got ", gt.str());
  const int64_t B = gt.shape()[0], H = gt.shape()[2], W = gt.shape()[3], n = 3 * H * W;
  // The 51-tap blur's reflect padding (25) must stay inside the image.
  SR_CHECK(H > 25 && W > 25, "usm_sharp_batch: a ", W, "x", H, " GT patch is too small for USM sharpening (radius ",
           "51 needs sides of at least 26): raise gt_size");
  if (!gt.device().is_cpu()) {
    // On the device, the CUDA twin (the same result, tests/test_degrade_device.cpp): the
    // training step reads nothing back.
    const Tensor x = gt.contiguous();
    Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
    SR_ON_DEVICE(x.device(), cuda::degrade_usm_sharp(x.data<float>(), y.data<float>(), B * 3, H, W));
    return y;
  }
  const Tensor host = gt.contiguous();
  Tensor out = Tensor::empty(host.shape());
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < B; ++b) {
    data::degrade::Planes p(3, (int)H, (int)W);
    std::memcpy(p.v.data(), host.data<float>() + b * n, n * sizeof(float));
    const data::degrade::Planes s = data::degrade::usm_sharp(p);
    std::memcpy(out.data<float>() + b * n, s.v.data(), n * sizeof(float));
  }
  return out;
}

}  // namespace sr::train

// A RealESRGANDataset training batch degraded on the training device (datasets.train.
// degrade_on: device): the loader's workers crop and flip the GT and draw every parameter
// (DeviceDegradation); the stage uploads the plain crops and calls degrade_crops_on_device,
// which does on the device what the loader's CPU path does (data/loader.cpp): USM, the
// pipeline, and the training patch cut from the LQ and from the GT at one position.
#pragma once
#include "data/degrade/pipeline.h"
#include "engine/tensor.h"

namespace sr::data::degrade {

struct DeviceDegradation {
  DegradationParams params;  // drawn for the crop_pad_size crops
  bool usm_gt = true;            // the batch's GT is the sharpened crop
  bool degrade_from_usm = true;  // the LQ is degraded from the sharpened crop
  int top = 0, left = 0;         // the training patch's corner on the LQ grid
  int gt_size = 0;               // the training patch's side (GT pixels)
};

// crops: (B, 3, S, S) plain GT crops on a cuda or simt device. Writes the training pair, on
// the same device: lq (B, 3, gt_size/s, gt_size/s) and gt (B, 3, gt_size, gt_size).
void degrade_crops_on_device(const Tensor& crops, const DeviceDegradation& d, Tensor* lq, Tensor* gt);

}  // namespace sr::data::degrade

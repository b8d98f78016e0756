// read_pth and read_weights_file (see pth_reader.h).
#include "engine/pth_reader.h"

#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/regular_file.h"

namespace sr {

namespace {

PthFile read_from(const ByteSource& src, const PthReadOptions& options) {
  PthFile out;
  out.source = src.name();
  out.skipped = read_torch_checkpoint(
      src,
      [&](const std::string& name, const std::vector<int64_t>& sizes) -> float* {
        SR_CHECK((int)sizes.size() <= Shape::kMaxDims, "pth '", src.name(), "': tensor '", name, "' has ",
                 sizes.size(), " dimensions; at most ", Shape::kMaxDims, " are supported");
        out.tensors.emplace_back(name, Tensor::empty(Shape(sizes), DType::f32));
        return out.tensors.back().second.data<float>();
      },
      options);
  return out;
}

}  // namespace

PthFile read_pth(const std::string& path, const PthReadOptions& options) {
  return read_from(FileByteSource(path), options);
}

PthFile parse_pth(const uint8_t* data, size_t size, const std::string& name, const PthReadOptions& options) {
  return read_from(MemoryByteSource(data, size, name), options);
}

NamedTensors read_weights_file(const std::string& path, std::vector<std::string>* skipped) {
  uint8_t head[16] = {};
  size_t n = 0;
  {
    // Opened without blocking and refused unless a regular file: a FIFO or a folder given
    // as --weights is an error, not a hang.
    const RegularFile file(path, "weights");
    n = (size_t)std::min<uint64_t>(file.size(), sizeof(head));
    file.read_at(0, head, n);
  }
  if (skipped) skipped->clear();
  // float32 whatever is stored, as read_pth gives (a safetensors F64 would otherwise stay float64).
  SafetensorsReadOptions as_f32;
  as_f32.dtype = DType::f32;
  switch (sniff_weights_file(head, n)) {
    case WeightsFileKind::torch_zip:
    case WeightsFileKind::torch_legacy: {
      PthFile f = read_pth(path);
      if (skipped) *skipped = std::move(f.skipped);
      return std::move(f.tensors);
    }
    case WeightsFileKind::safetensors: return read_safetensors(path, as_f32).tensors;
    case WeightsFileKind::unknown: break;
  }
  const std::string ext = std::filesystem::path(path).extension().string();
  SR_CHECK(ext != ".pth" && ext != ".pt" && ext != ".ckpt", "pth '", path,
           "': not a torch.save checkpoint (neither a zip archive nor a legacy pickle; truncated or corrupt?)");
  return read_safetensors(path, as_f32).tensors;  // its messages say what is wrong with the header
}

}  // namespace sr

// read_pth and read_weights_file (see pth_reader.h).
#include "engine/pth_reader.h"

#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace sr {

namespace {

PthFile read_from(const ByteSource& src, const PthReadOptions& options) {
  PthFile out;
  out.source = src.name();
  out.skipped = read_pth_archive(
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
  const FileByteSource src(path);
  uint8_t head[16] = {};
  const size_t n = (size_t)std::min<uint64_t>(src.size(), sizeof(head));
  src.read(0, n, head);
  if (sniff_weights_file(head, n) == WeightsFileKind::torch_legacy) fail(legacy_pth_message(path));
  return read_from(src, options);
}

PthFile parse_pth(const uint8_t* data, size_t size, const std::string& name, const PthReadOptions& options) {
  if (sniff_weights_file(data, size) == WeightsFileKind::torch_legacy) fail(legacy_pth_message(name));
  return read_from(MemoryByteSource(data, size, name), options);
}

NamedTensors read_weights_file(const std::string& path) {
  std::error_code ec;
  SR_CHECK(!std::filesystem::is_directory(path, ec), "weights '", path, "': is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  SR_CHECK(in.good(), "weights '", path, "': cannot open the file (missing or unreadable)");
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  const size_t n = (size_t)in.gcount();
  in.close();
  switch (sniff_weights_file(head, n)) {
    case WeightsFileKind::torch_zip: return read_pth(path).tensors;
    case WeightsFileKind::torch_legacy: fail(legacy_pth_message(path));
    case WeightsFileKind::safetensors: return read_safetensors(path).tensors;
    case WeightsFileKind::unknown: break;
  }
  const std::string ext = std::filesystem::path(path).extension().string();
  SR_CHECK(ext != ".pth" && ext != ".pt" && ext != ".ckpt", "pth '", path,
           "': not a torch.save checkpoint (neither a zip archive nor a legacy pickle; truncated or corrupt?)");
  return read_safetensors(path).tensors;  // its messages say what is wrong with the header
}

}  // namespace sr

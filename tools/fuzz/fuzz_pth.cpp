// libFuzzer target for the torch.save readers (the zip container and the legacy pickle stream,
// told apart by the first bytes as read_pth does; the restricted unpickler; storage views): any
// byte string must read, or fail with sr::Error, without a crash, leak, hang or sanitizer
// report. The CRC check is off so mutations reach the pickle and the views.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/error.h"
#include "engine/pth_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sr::PthReadOptions opt;
  opt.verify_crc = false;
  std::vector<std::vector<float>> tensors;
  size_t total = 0;
  try {
    const sr::MemoryByteSource src(data, size, "fuzz.pth");
    sr::read_torch_checkpoint(
        src,
        [&](const std::string&, const std::vector<int64_t>& sizes) {
          size_t n = 1;
          for (int64_t s : sizes) n *= (size_t)s;  // checked against the storage by the reader
          total += n;
          if (total > (size_t(1) << 26)) sr::fail("fuzz: over 64 M elements");  // views may repeat a storage
          tensors.emplace_back(n + 1, -1.f);
          return tensors.back().data();
        },
        opt);
    for (const auto& t : tensors)
      if (t.back() != -1.f) __builtin_trap();  // the reader wrote past a tensor's end
  } catch (const sr::Error&) {
  }
  return 0;
}

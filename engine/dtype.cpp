// Device parsing and selection (the calling thread's current CUDA device).
#include "engine/dtype.h"

#include "engine/cuda_runtime.h"

namespace sr {

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s == "simt") return Device::simt();
  if (s.rfind("cuda:", 0) == 0) {
    const std::string idx = s.substr(5);
    SR_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos,
             "device: expected cpu, cuda, cuda:N or simt, got '", s, "'");
    return Device::cuda(std::stoi(idx));
  }
  fail("device: expected cpu, cuda, cuda:N or simt, got '", s, "'");
}

void activate_device(const Device& d, const std::string& what) {
  if (d.is_cpu()) return;
  if (d.is_simt()) {
#ifndef SRENGINE_WITH_SIMT
    fail(what, ": the simt device needs the SIMT interpreter, which this srengine was built without "
         "(rebuild with -DSRENGINE_SIMT=ON, or use cpu)");
#endif
    return;
  }
#ifdef SRENGINE_WITH_CUDA
  const int count = cuda::device_count();
  SR_CHECK(count > 0, what, ": ", d.str(), " requested but no CUDA device is available on this machine (use cpu)");
  SR_CHECK(d.index >= 0 && d.index < count, what, ": ", d.str(), " requested but this machine has ", count,
           " CUDA device(s) (cuda:0", count > 1 ? "..cuda:" + std::to_string(count - 1) : std::string(), ")");
  cuda::set_device(d.index);
#else
  fail(what, ": ", d.str(), " requested but this srengine was built without CUDA (rebuild with -DSRENGINE_CUDA=ON, or use cpu)");
#endif
}

}  // namespace sr

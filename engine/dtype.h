// Element types and devices. float32 is the training type everywhere; float64 exists on
// the CPU for gradient checks; bf16/fp16 are reserved for CUDA mixed precision.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"

namespace sr {

enum class DType : uint8_t { f32 = 0, f64 = 1, bf16 = 2, f16 = 3 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::bf16: return 2;
    case DType::f16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::bf16: return "bfloat16";
    case DType::f16: return "float16";
  }
  return "?";
}

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };

// cpu: the kernels of kernels/cpu. cuda: the kernels of kernels/cuda on a GPU. simt: the same
// kernels of kernels/cuda run by the SIMT interpreter on the CPU (kernels/simt, docs/SIMT.md):
// slow, for tests and debugging; its memory is host memory with guard zones, NaN-poisoned.
enum class DeviceType : uint8_t { cpu = 0, cuda = 1, simt = 2 };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  static Device simt() { return {DeviceType::simt, 0}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool is_simt() const { return type == DeviceType::simt; }
  bool operator==(const Device& o) const { return type == o.type && (!is_cuda() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : is_simt() ? "simt" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda", "cuda:N" or "simt"; anything else is an error naming the value.
Device parse_device(const std::string& s);

// Makes a CUDA device the calling thread's current one, so that its tensors are allocated
// and its kernels run on that GPU (the CUDA runtime would otherwise use GPU 0 whatever the
// tensors say). Every command calls it once it knows its device. A device this build or
// machine does not have is an error naming `what` (e.g. "device 'cuda:3'") and the
// devices there are. No-op for the CPU; for simt only checks that the build has the
// interpreter.
void activate_device(const Device& d, const std::string& what);

}  // namespace sr

// Tensor: a strided view (up to 5-D) of a shared Storage, with autograd metadata.
//
// Storage is NCHW and contiguous when a tensor is created; views (narrow along a
// dimension, e.g. a channel range of an NCHW activation for the dense blocks) share
// it without copying and carry strides. Most kernels want contiguous input and call
// contiguous(); the convolution accepts the channel-range views directly.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace sr {

class Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  std::array<int64_t, Shape::kMaxDims> strides{};  // in elements
  DType dtype = DType::f32;

  // Autograd.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // the node that produced this tensor (non-leaf)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- Construction -------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  // A CPU tensor in page-locked memory for copies to GPU `cuda_device` when a CUDA device
  // is present (those copies are asynchronous), ordinary host memory otherwise; see
  // is_pinned().
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::f32, int cuda_device = 0);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  // Copies host values (converted to dtype) into a new CPU tensor.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::f32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                            DType dtype = DType::f32);

  // ---- Metadata -----------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl()->shape; }
  int dim() const { return shape().dim(); }
  int64_t size(int d) const;
  int64_t numel() const { return shape().numel(); }
  int64_t stride(int d) const;
  DType dtype() const { return impl()->dtype; }
  Device device() const { return impl()->storage->device(); }
  bool is_pinned() const { return impl()->storage->pinned(); }
  bool is_cuda() const { return device().is_cuda(); }
  bool is_simt() const { return device().is_simt(); }
  bool is_contiguous() const;
  int64_t offset() const { return impl()->offset; }
  size_t nbytes() const { return numel() * dtype_size(dtype()); }
  std::string str() const;  // "float32[2, 3, 4, 4] cpu"

  // ---- Data ---------------------------------------------------------------------------
  void* raw_data() const;
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>::value, "data<T>()");
    return static_cast<T*>(raw_data());
  }
  // Host values of the (contiguous copy of the) tensor, as double; for tests and logs.
  std::vector<double> to_vector() const;
  double item() const;

  // ---- Copies and views (no autograd; see ops.h for differentiable versions) -----------
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor reshape(const Shape& shape) const;  // contiguous tensors only: a view
  Tensor narrow(int dim, int64_t start, int64_t length) const;  // a view sharing storage
  void copy_(const Tensor& src);  // same shape; any devices; dtype converted
  void fill_(double value);
  void zero_() { fill_(0.0); }
  bool same_storage(const Tensor& o) const { return impl()->storage == o.impl()->storage; }

  // ---- Autograd -----------------------------------------------------------------------
  bool requires_grad() const { return impl()->requires_grad; }
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl()->grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl()->grad_fn; }
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the accumulated gradient (as set_to_none=True)
  Tensor detach() const;
  void backward(const Tensor& gradient = Tensor()) const;

  TensorImpl* impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  void check_dtype(DType expected, const char* what) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Contiguous strides for a shape.
std::array<int64_t, Shape::kMaxDims> contiguous_strides(const Shape& shape);

}  // namespace sr

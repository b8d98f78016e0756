// Tensor construction, views, copies and conversions.
#include "engine/tensor.h"

#include <cstring>

#include "engine/autograd.h"
#include "engine/cuda_runtime.h"
#include "engine/dispatch.h"

namespace sr {

std::array<int64_t, Shape::kMaxDims> contiguous_strides(const Shape& shape) {
  std::array<int64_t, Shape::kMaxDims> s{};
  int64_t acc = 1;
  for (int i = shape.dim() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

TensorImpl* Tensor::impl() const {
  SR_CHECK(impl_ != nullptr, "Tensor: use of an undefined tensor");
  return impl_.get();
}

namespace {
Tensor empty_impl(const Shape& shape, DType dtype, Device device, int pin_device) {
  SR_CHECK(dtype == DType::f32 || dtype == DType::f64,
           "Tensor::empty: dtype ", dtype_name(dtype), " is reserved and not implemented yet");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape.numel() * dtype_size(dtype), device, pin_device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return empty_impl(shape, dtype, device, -1);
}
Tensor Tensor::empty_pinned(const Shape& shape, DType dtype, int cuda_device) {
  SR_CHECK(cuda_device >= 0, "Tensor::empty_pinned: bad CUDA device index ", cuda_device);
  return empty_impl(shape, dtype, Device::cpu(), cuda_device);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  SR_CHECK((int64_t)values.size() == shape.numel(), "Tensor::from_vector: ", values.size(),
           " values for shape ", shape.str());
  Tensor t = empty(shape, dtype);
  if (dtype == DType::f32) {
    float* p = t.data<float>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = (float)values[i];
  } else {
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(double));
  }
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, DType dtype) {
  return from_vector(std::vector<double>(values.begin(), values.end()), shape, dtype);
}

int64_t Tensor::size(int d) const {
  const int n = dim();
  if (d < 0) d += n;
  SR_CHECK(d >= 0 && d < n, "Tensor::size: dimension ", d, " out of range for ", shape().str());
  return shape()[d];
}

int64_t Tensor::stride(int d) const {
  const int n = dim();
  if (d < 0) d += n;
  SR_CHECK(d >= 0 && d < n, "Tensor::stride: dimension ", d, " out of range for ", shape().str());
  return impl()->strides[d];
}

bool Tensor::is_contiguous() const {
  const auto expect = contiguous_strides(shape());
  for (int i = 0; i < dim(); ++i)
    if (shape()[i] != 1 && impl()->strides[i] != expect[i]) return false;
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return str_cat(dtype_name(dtype()), shape().str(), " ", device().str());
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl()->storage->data()) + impl()->offset * dtype_size(dtype());
}

void Tensor::check_dtype(DType expected, const char* what) const {
  SR_CHECK(dtype() == expected, what, ": expected ", dtype_name(expected), ", got ", str());
}

// ---- Host strided iteration ------------------------------------------------------------

namespace {

// Calls f(offset) for every element of a strided layout, in row-major order.
template <typename F>
void for_each_offset(const Shape& shape, const int64_t* strides, F&& f) {
  const int n = shape.dim();
  if (shape.numel() == 0) return;
  if (n == 0) {
    f(0);
    return;
  }
  std::array<int64_t, Shape::kMaxDims> idx{};
  int64_t off = 0;
  while (true) {
    // Innermost dimension as a tight loop.
    const int64_t last = shape[n - 1], ls = strides[n - 1];
    for (int64_t i = 0; i < last; ++i) f(off + i * ls);
    int d = n - 2;
    for (; d >= 0; --d) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= idx[d] * strides[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

template <typename D, typename S>
void host_copy(D* dst, const int64_t* dst_strides, const S* src, const int64_t* src_strides,
               const Shape& shape) {
  // Walk both layouts in the same order: collect source offsets lazily.
  const int n = shape.dim();
  if (shape.numel() == 0) return;
  std::array<int64_t, Shape::kMaxDims> idx{};
  int64_t doff = 0, soff = 0;
  if (n == 0) {
    dst[0] = (D)src[0];
    return;
  }
  while (true) {
    const int64_t last = shape[n - 1], lds = dst_strides[n - 1], lss = src_strides[n - 1];
    for (int64_t i = 0; i < last; ++i) dst[doff + i * lds] = (D)src[soff + i * lss];
    int d = n - 2;
    for (; d >= 0; --d) {
      idx[d]++;
      doff += dst_strides[d];
      soff += src_strides[d];
      if (idx[d] < shape[d]) break;
      doff -= idx[d] * dst_strides[d];
      soff -= idx[d] * src_strides[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace

void Tensor::fill_(double value) {
  if (!device().is_cpu()) {
    SR_ON_DEVICE(device(), cuda::fill_strided(raw_data(), impl()->strides.data(), (int)dtype_size(dtype()),
                                              shape().begin(), dim(), value));
    return;
  }
  if (dtype() == DType::f32) {
    float* p = static_cast<float*>(raw_data());
    const float v = (float)value;
    if (is_contiguous()) {
      std::fill(p, p + numel(), v);
    } else {
      for_each_offset(shape(), impl()->strides.data(), [&](int64_t o) { p[o] = v; });
    }
  } else {
    double* p = static_cast<double*>(raw_data());
    if (is_contiguous()) {
      std::fill(p, p + numel(), value);
    } else {
      for_each_offset(shape(), impl()->strides.data(), [&](int64_t o) { p[o] = value; });
    }
  }
}

void Tensor::copy_(const Tensor& src) {
  SR_CHECK(src.shape() == shape(), "copy_: shape mismatch, destination ", str(), " source ",
           src.str());
  if (device().is_cpu() && src.device().is_cpu()) {
    const auto* ds = impl()->strides.data();
    const auto* ss = src.impl()->strides.data();
    if (dtype() == DType::f32 && src.dtype() == DType::f32 && is_contiguous() &&
        src.is_contiguous()) {
      std::memcpy(raw_data(), src.raw_data(), nbytes());
    } else if (dtype() == DType::f32 && src.dtype() == DType::f32) {
      host_copy(data<float>(), ds, src.data<float>(), ss, shape());
    } else if (dtype() == DType::f32) {
      host_copy(data<float>(), ds, src.data<double>(), ss, shape());
    } else if (src.dtype() == DType::f32) {
      host_copy(data<double>(), ds, src.data<float>(), ss, shape());
    } else {
      host_copy(data<double>(), ds, src.data<double>(), ss, shape());
    }
    return;
  }
  if (device().type == src.device().type) {  // on one device (GPUs: cuda:N to cuda:M too)
    SR_ON_DEVICE(device(), cuda::copy_strided(raw_data(), impl()->strides.data(), (int)dtype_size(dtype()),
                                              src.raw_data(), src.impl()->strides.data(),
                                              (int)dtype_size(src.dtype()), shape().begin(), dim()));
    return;
  }
  // Between a GPU and the simt device: through the host.
  if (!device().is_cpu() && !src.device().is_cpu()) {
    copy_(src.to(Device::cpu()));
    return;
  }
  // Host <-> device: stage through a contiguous tensor of the destination dtype.
  if (!device().is_cpu()) {
    Tensor staged = src.dtype() == dtype() && src.is_contiguous() ? src : src.to(dtype());
    if (is_contiguous()) {
      SR_ON_DEVICE(device(), cuda::memcpy(raw_data(), staged.raw_data(), nbytes(), cuda::CopyKind::host_to_device));
    } else {
      Tensor dev = staged.to(device());
      copy_(dev);
    }
  } else {
    Tensor dev = src.is_contiguous() ? src : src.contiguous();
    Tensor host = Tensor::empty(shape(), src.dtype(), Device::cpu());
    SR_ON_DEVICE(src.device(),
                 cuda::memcpy(host.raw_data(), dev.raw_data(), host.nbytes(), cuda::CopyKind::device_to_host));
    copy_(host);
  }
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = empty(shape(), dtype(), d);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = empty(shape(), t, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::reshape(const Shape& s) const {
  SR_CHECK(s.numel() == numel(), "reshape: cannot view ", shape().str(), " as ", s.str());
  SR_CHECK(is_contiguous(), "reshape: tensor ", str(), " is not contiguous");
  auto impl2 = std::make_shared<TensorImpl>(*impl());
  impl2->shape = s;
  impl2->strides = contiguous_strides(s);
  impl2->grad = nullptr;
  impl2->grad_fn = nullptr;
  impl2->requires_grad = false;
  return Tensor(std::move(impl2));
}

Tensor Tensor::narrow(int d, int64_t start, int64_t length) const {
  if (d < 0) d += dim();
  SR_CHECK(d >= 0 && d < dim(), "narrow: dimension ", d, " out of range for ", shape().str());
  SR_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow: range [", start,
           ", ", start + length, ") out of bounds for dimension ", d, " of ", shape().str());
  auto impl2 = std::make_shared<TensorImpl>(*impl());
  impl2->shape[d] = length;
  impl2->offset += start * impl()->strides[d];
  impl2->grad = nullptr;
  impl2->grad_fn = nullptr;
  impl2->requires_grad = false;
  return Tensor(std::move(impl2));
}

std::vector<double> Tensor::to_vector() const {
  Tensor host = to(Device::cpu()).contiguous();
  std::vector<double> out(numel());
  if (dtype() == DType::f32) {
    const float* p = host.data<float>();
    for (int64_t i = 0; i < numel(); ++i) out[i] = p[i];
  } else {
    std::memcpy(out.data(), host.raw_data(), out.size() * sizeof(double));
  }
  return out;
}

double Tensor::item() const {
  SR_CHECK(numel() == 1, "item: tensor ", str(), " has ", numel(), " elements, expected 1");
  return to_vector()[0];
}

// ---- Autograd accessors ---------------------------------------------------------------

Tensor& Tensor::set_requires_grad(bool r) {
  SR_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can change requires_grad");
  impl()->requires_grad = r;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl()->grad); }

void Tensor::set_grad(const Tensor& g) {
  if (!g.defined()) {
    impl()->grad = nullptr;
    return;
  }
  SR_CHECK(g.shape() == shape(), "set_grad: gradient ", g.str(), " does not match ", str());
  impl()->grad = g.impl_ptr();
}

void Tensor::zero_grad() { impl()->grad = nullptr; }

Tensor Tensor::detach() const {
  auto impl2 = std::make_shared<TensorImpl>(*impl());
  impl2->grad = nullptr;
  impl2->grad_fn = nullptr;
  impl2->requires_grad = false;
  return Tensor(std::move(impl2));
}

void Tensor::backward(const Tensor& gradient) const { run_backward(*this, gradient); }

}  // namespace sr

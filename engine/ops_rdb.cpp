// residual_dense_block op (see ops_rdb.h): shape checks, the fused kernels, and the
// autograd node whose backward runs the reverse pass over the saved buffer (or packed twin).
#include "engine/ops_rdb.h"

#include <atomic>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/rdb.h"
#include "kernels/cuda/rdb.h"

namespace sr {

namespace {

std::atomic<bool> g_grad_handoff_unchecked{false};

void check_params(const Tensor& x, const RdbParams& p, int64_t nf, int64_t gc) {
  for (int k = 0; k < 5; ++k) {
    const Tensor& w = p.w[k];
    SR_CHECK(w.defined(), "residual_dense_block: weight ", k + 1, " is undefined");
    check_same_device_dtype("residual_dense_block", x, w);
    const int64_t cin = nf + k * gc, cout = k == 4 ? nf : gc;
    SR_CHECK(w.dim() == 4 && w.size(0) == cout && w.size(1) == cin && w.size(2) == 3 && w.size(3) == 3,
             "residual_dense_block: conv", k + 1, " weight ", w.shape().str(), " should be (", cout, ", ",
             cin, ", 3, 3) for input ", x.shape().str(), " and growth ", gc);
    if (p.b[k].defined()) {
      check_same_device_dtype("residual_dense_block", x, p.b[k]);
      SR_CHECK(p.b[k].dim() == 1 && p.b[k].size(0) == cout, "residual_dense_block: conv", k + 1,
               " bias ", p.b[k].shape().str(), " should have ", cout, " entries");
    }
  }
}

}  // namespace

void set_rdb_grad_handoff_unchecked(bool on) { g_grad_handoff_unchecked.store(on); }

Tensor residual_dense_block(const Tensor& x_in, const RdbParams& p_in, double slope, double residual,
                            const Tensor& outer_in, double outer_scale, const kernels::KernelChoice& choice,
                            Precision precision, RdbLink* link) {
  check_dim("residual_dense_block", x_in, 4, "input");
  SR_CHECK(slope > 0, "residual_dense_block: slope must be > 0 (backward reads the sign of the "
           "output), got ", slope);
  SR_CHECK(p_in.w[0].defined() && p_in.w[0].dim() == 4, "residual_dense_block: conv1 weight missing");
  const int64_t nf = x_in.size(1), gc = p_in.w[0].size(0);
  check_params(x_in, p_in, nf, gc);
  const bool has_outer = outer_in.defined();
  if (has_outer) {
    check_same_shape("residual_dense_block", x_in, outer_in);
    check_same_device_dtype("residual_dense_block", x_in, outer_in);
  }
  const RdbShape s{x_in.size(0), nf, gc, x_in.size(2), x_in.size(3), precision};
  Tensor x = x_in.contiguous(), outer = has_outer ? outer_in.contiguous() : Tensor();
  RdbParams p;  // contiguous, detached copies of the parameters for the kernels and backward
  for (int k = 0; k < 5; ++k) {
    p.w[k] = p_in.w[k].contiguous().detach();
    if (p_in.b[k].defined()) p.b[k] = p_in.b[k].contiguous().detach();
  }
  // The CUDA conv variant of the precision (kernel_choice.h); the backward runs the same one.
  [[maybe_unused]] const kernels::ConvVariant v =
      x_in.device().is_cpu() ? choice.conv2d
                             : kernels::conv_variant_for_precision(choice.conv2d, precision, "residual_dense_block");
  // The buffer [x | x_1 .. x_4], or on a device whose block keeps a packed twin the twin
  // [N][H][W][nf + 4 gc] bf16 (kernels/cuda/rdb.h) instead: what the backward reads.
  bool keeps_twin = false;
  if (!x.device().is_cpu()) SR_ON_DEVICE(x.device(), keeps_twin = cuda::rdb_keeps_twin(v, s));
  // The twin: raw device bytes (no engine tensor holds bf16), N H W (nf + 4 gc) values.
  const size_t twin_bytes = (size_t)(s.N * s.H * s.W * s.channels()) * sizeof(uint16_t);
  Tensor buf;
  std::shared_ptr<Storage> twin, next_twin;
  // The backward's handoffs (RdbLink): to_prev, the previous block's, which this block's backward
  // fills; from_next, this block's own, which the next block's backward fills.
  std::shared_ptr<RdbGradHandoff> to_prev, from_next;
  bool twin_holds_x = false;
  if (keeps_twin) {
    // The previous block's leftover twin, when it holds this x (its output): see RdbLink.
    if (link && link->twin && link->of.defined() && link->of.impl() == x_in.impl() &&
        link->twin->bytes() == twin_bytes && link->twin->device() == x.device()) {
      twin = link->twin;
      twin_holds_x = true;
      to_prev = link->grad;
    } else {
      twin = std::make_shared<Storage>(twin_bytes, x.device());
    }
    if (link && link->leave_next) {
      next_twin = std::make_shared<Storage>(twin_bytes, x.device());
      if (link->sole_consumer) {
        from_next = std::make_shared<RdbGradHandoff>();
        SR_ON_DEVICE(x.device(),
                     from_next->scale = cuda::rdb_dz5_scale((float)residual, has_outer, (float)outer_scale));
      }
    }
  } else {
    buf = Tensor::empty({s.N, s.channels(), s.H, s.W}, x.dtype(), x.device());
  }
  if (link) *link = RdbLink{link->leave_next, link->sole_consumer, nullptr, Tensor(), nullptr};
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());

  dispatch("residual_dense_block", x, [&](auto t) {
    using T = decltype(t);
    RdbWeights<T> kp{};
    for (int k = 0; k < 5; ++k) {
      kp.w[k] = p.w[k].data<T>();
      kp.b[k] = p.b[k].defined() ? p.b[k].data<T>() : nullptr;
    }
    cpu::rdb_forward<T>(s, x.data<T>(), kp, has_outer ? outer.data<T>() : nullptr, (T)slope, (T)residual,
                        (T)outer_scale, buf.data<T>(), y.data<T>());
  }, [&] {
    SR_CUDA({
      cuda::RdbWeights kp{};
      for (int k = 0; k < 5; ++k) {
        kp.w[k] = p.w[k].data<float>();
        kp.b[k] = p.b[k].defined() ? p.b[k].data<float>() : nullptr;
      }
      const cuda::RdbSaved saved{keeps_twin ? nullptr : buf.data<float>(),
                                 keeps_twin ? static_cast<uint16_t*>(twin->data()) : nullptr};
      const cuda::RdbLink kl{twin_holds_x, next_twin ? static_cast<uint16_t*>(next_twin->data()) : nullptr};
      cuda::rdb_forward(v, s, x.data<float>(), kp, has_outer ? outer.data<float>() : nullptr, (float)slope,
                        (float)residual, (float)outer_scale, saved, y.data<float>(), kl);
    });
  });

  std::vector<Tensor> inputs{x_in};
  for (int k = 0; k < 5; ++k) inputs.push_back(p_in.w[k]);
  for (int k = 0; k < 5; ++k) inputs.push_back(p_in.b[k]);
  inputs.push_back(outer_in);
  std::array<bool, 12> need{};
  for (size_t i = 0; i < inputs.size(); ++i) need[i] = inputs[i].defined() && inputs[i].requires_grad();
  // Saved: the buffer or the twin, and the parameters; nothing per conv.
  Tensor bufs = keeps_twin ? Tensor() : buf.detach();
  Tensor out = record("residual_dense_block", y, inputs, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    std::vector<Tensor> grads(12);
    if (need[0]) grads[0] = Tensor::empty({s.N, s.nf, s.H, s.W}, g.dtype(), g.device());
    for (int k = 0; k < 5; ++k) {
      if (need[1 + k]) grads[1 + k] = Tensor::zeros(p.w[k].shape(), g.dtype(), g.device());
      if (need[6 + k]) grads[6 + k] = Tensor::zeros(p.b[k].shape(), g.dtype(), g.device());
    }
    if (need[11]) grads[11] = g;  // d y / d outer = identity
    dispatch("residual_dense_block_backward", g, [&](auto t) {
      using T = decltype(t);
      RdbWeights<T> kp{};
      T* dw[5];
      T* db[5];
      for (int k = 0; k < 5; ++k) {
        kp.w[k] = p.w[k].data<T>();
        kp.b[k] = p.b[k].defined() ? p.b[k].data<T>() : nullptr;
        dw[k] = need[1 + k] ? grads[1 + k].data<T>() : nullptr;
        db[k] = need[6 + k] ? grads[6 + k].data<T>() : nullptr;
      }
      cpu::rdb_backward<T>(s, bufs.data<T>(), kp, g.data<T>(), (T)slope, (T)residual, has_outer,
                           (T)outer_scale, need[0] ? grads[0].data<T>() : nullptr, dw, db);
    }, [&] {
      SR_CUDA({
        cuda::RdbWeights kp{};
        float* dw[5];
        float* db[5];
        for (int k = 0; k < 5; ++k) {
          kp.w[k] = p.w[k].data<float>();
          kp.b[k] = p.b[k].defined() ? p.b[k].data<float>() : nullptr;
          dw[k] = need[1 + k] ? grads[1 + k].data<float>() : nullptr;
          db[k] = need[6 + k] ? grads[6 + k].data<float>() : nullptr;
        }
        const cuda::RdbSaved saved{keeps_twin ? nullptr : bufs.data<float>(),
                                   keeps_twin ? static_cast<uint16_t*>(twin->data()) : nullptr};
        // The links' packed conv5 dy (RdbLink): this block's, when the next block's backward
        // stored it from the very gradient received here; the previous block's, from dx.
        cuda::RdbBackwardLink bl;
        if (from_next && from_next->packed &&
            (from_next->of.impl() == g_in.impl() || g_grad_handoff_unchecked.load()))
          bl.dz5_packed = static_cast<const uint16_t*>(from_next->packed->data());
        std::shared_ptr<Storage> prev_dz5;
        if (to_prev && need[0]) {
          prev_dz5 = std::make_shared<Storage>((size_t)(s.N * s.H * s.W * s.nf) * sizeof(uint16_t), g.device());
          bl.prev_dz5 = static_cast<uint16_t*>(prev_dz5->data());
          bl.prev_dz5_scale = to_prev->scale;
        }
        cuda::rdb_backward(v, s, saved, kp, g.data<float>(), (float)slope, (float)residual, has_outer,
                           (float)outer_scale, need[0] ? grads[0].data<float>() : nullptr, dw, db, bl);
        if (prev_dz5) {
          to_prev->packed = prev_dz5;
          to_prev->of = grads[0];
        }
      });
    });
    if (from_next) {  // read (or not): released with the gradient it held
      from_next->packed.reset();
      from_next->of = Tensor();
    }
    return grads;
  });
  if (next_twin) *link = RdbLink{true, link->sole_consumer, next_twin, out, from_next};
  return out;
}

}  // namespace sr

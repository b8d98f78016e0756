// Swin's fused window attention (engine/ops_transformer.h): checks, kernel dispatch, autograd
// node. The op saves qkv and the table only: the backward recomputes S and P from them
// (kernels/cpu/window_attention.h), so no (B_, nh, N, N) attention map outlives the forward
// (PyTorch's composition keeps the softmax output, 14 MiB of float32 per block at
// swinir.block, plus the index and mask tensors); the backward's table-gradient scratch (on
// the CPU an eighth of that size, in double: windows summed in chunks of 8) lives only while
// it runs.
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/window_attention.h"
#include "kernels/cuda/window_attention.h"

namespace sr {

Tensor window_attention(const Tensor& qkv_in, const Tensor& table_in, int num_heads, int64_t H, int64_t W,
                        int window_size, int shift, double scale) {
  const char* op = "window_attention";
  check_dim(op, qkv_in, 3, "qkv");
  check_dim(op, table_in, 2, "relative_position_bias_table");
  check_same_device_dtype(op, qkv_in, table_in);
  SR_CHECK(window_size >= 1, op, ": window_size ", window_size, " must be >= 1");
  SR_CHECK(shift >= 0 && shift < window_size, op, ": shift ", shift, " must be in [0, window_size ", window_size,
           ")");
  SR_CHECK(H > 0 && W > 0 && H % window_size == 0 && W % window_size == 0, op, ": image ", H, "x", W,
           " must be a positive multiple of window_size ", window_size);
  SR_CHECK(num_heads >= 1, op, ": num_heads ", num_heads, " must be >= 1");
  SR_CHECK(std::isfinite(scale), op, ": scale ", scale, " must be finite");
  const int64_t B_ = qkv_in.size(0), N = qkv_in.size(1), C3 = qkv_in.size(2);
  SR_CHECK(N == (int64_t)window_size * window_size, op, ": qkv ", qkv_in.shape().str(), " has ", N,
           " tokens a window, window_size ", window_size, " needs ", (int64_t)window_size * window_size);
  SR_CHECK(C3 % (3 * (int64_t)num_heads) == 0 && C3 > 0, op, ": qkv ", qkv_in.shape().str(), "'s last dim ", C3,
           " must be 3 * num_heads (", num_heads, ") * head_dim");
  const int64_t nW = (H / window_size) * (W / window_size);
  SR_CHECK(B_ % nW == 0, op, ": qkv ", qkv_in.shape().str(), " holds ", B_, " windows, not a multiple of the ",
           nW, " windows of a ", H, "x", W, " image");
  const int64_t R = 2 * (int64_t)window_size - 1;
  SR_CHECK(table_in.size(0) == R * R && table_in.size(1) == num_heads, op, ": relative_position_bias_table ",
           table_in.shape().str(), " must be (", R * R, ", ", num_heads, ") for window_size ", window_size);
  WindowAttentionShape s;
  s.windows = B_;
  s.heads = num_heads;
  s.head_dim = (int)(C3 / 3 / num_heads);
  s.H = H;
  s.W = W;
  s.window = window_size;
  s.shift = shift;
  s.scale = scale;
  const Tensor qkv = qkv_in.contiguous(), table = table_in.contiguous();
  Tensor out = Tensor::empty({B_, N, C3 / 3}, qkv.dtype(), qkv.device());
  dispatch(op, qkv, [&](auto t) {
    using T = decltype(t);
    cpu::window_attention_forward<T>(qkv.data<T>(), table.data<T>(), out.data<T>(), s);
  }, [&] { SR_CUDA(cuda::window_attention_forward(qkv.data<float>(), table.data<float>(), out.data<float>(), s)); });
  const bool gq = qkv_in.requires_grad(), gt = table_in.requires_grad();
  const Tensor qs = qkv.detach(), ts = table.detach();
  return record(op, out, {qkv_in, table_in}, [qs, ts, gq, gt, s](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dqkv, dtable;
    if (gq) dqkv = Tensor::empty(qs.shape(), g.dtype(), g.device());
    if (gt) dtable = Tensor::empty(ts.shape(), g.dtype(), g.device());
    dispatch("window_attention_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::window_attention_backward<T>(qs.data<T>(), ts.data<T>(), g.data<T>(), gq ? dqkv.data<T>() : nullptr,
                                        gt ? dtable.data<T>() : nullptr, s);
    }, [&] {
      SR_CUDA(cuda::window_attention_backward(qs.data<float>(), ts.data<float>(), g.data<float>(),
                                              gq ? dqkv.data<float>() : nullptr, gt ? dtable.data<float>() : nullptr,
                                              s));
    });
    return std::vector<Tensor>{dqkv, dtable};
  });
}

}  // namespace sr

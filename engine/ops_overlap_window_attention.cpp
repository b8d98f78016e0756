// HAT's fused overlapping cross-attention (engine/ops_transformer.h): checks, kernel dispatch,
// autograd node. The op saves qkv and the table only: the backward recomputes S and P from them
// (kernels/cpu/overlap_window_attention.h; on cuda and simt devices
// kernels/cuda/overlap_window_attention.h). PyTorch's composition keeps the unfolded keys and
// values ((wse / ws)^2 = 2.25 times k and v at HAT's ws 16, wse 24), the (B nW, nh, Nq, Nkv)
// softmax output (16 x 6 x 256 x 576 floats, 54 MiB per image at a 64 x 64 patch, 6 heads) and
// the (Nq, Nkv) index tensor.
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/overlap_window_attention.h"
#include "kernels/cuda/overlap_window_attention.h"

namespace sr {

Tensor overlap_window_attention(const Tensor& qkv_in, const Tensor& table_in, int num_heads, int64_t H, int64_t W,
                                int window_size, int overlap_window_size, double scale) {
  const char* op = "overlap_window_attention";
  check_dim(op, qkv_in, 3, "qkv");
  check_dim(op, table_in, 2, "relative_position_bias_table");
  check_same_device_dtype(op, qkv_in, table_in);
  const int ws = window_size, wse = overlap_window_size;
  // ws = 1 indexes past HAT's table (its index reaches ws (L + 1) = 2 with L = 1).
  SR_CHECK(ws >= 2, op, ": window_size ", ws, " must be >= 2");
  SR_CHECK(wse >= ws && (wse - ws) % 2 == 0, op, ": overlap_window_size ", wse, " must be window_size ", ws,
           " plus an even number >= 0 (nn.Unfold's padding (wse - ws) / 2 must centre the window)");
  SR_CHECK(H > 0 && W > 0 && H % ws == 0 && W % ws == 0, op, ": image ", H, "x", W,
           " must be a positive multiple of window_size ", ws);
  SR_CHECK(num_heads >= 1, op, ": num_heads ", num_heads, " must be >= 1");
  SR_CHECK(std::isfinite(scale), op, ": scale ", scale, " must be finite");
  const int64_t B = qkv_in.size(0), L = qkv_in.size(1), C3 = qkv_in.size(2);
  SR_CHECK(L == H * W, op, ": qkv ", qkv_in.shape().str(), " has ", L, " tokens an image, a ", H, "x", W,
           " image has ", H * W);
  SR_CHECK(C3 % (3 * (int64_t)num_heads) == 0 && C3 > 0, op, ": qkv ", qkv_in.shape().str(), "'s last dim ", C3,
           " must be 3 * num_heads (", num_heads, ") * head_dim");
  const int64_t R = (int64_t)ws + wse - 1;
  SR_CHECK(table_in.size(0) == R * R && table_in.size(1) == num_heads, op, ": relative_position_bias_table ",
           table_in.shape().str(), " must be (", R * R, ", ", num_heads, ") for window_size ", ws,
           " and overlap_window_size ", wse);
  OverlapWindowAttentionShape s;
  s.images = B;
  s.heads = num_heads;
  s.head_dim = (int)(C3 / 3 / num_heads);
  s.H = H;
  s.W = W;
  s.window = ws;
  s.overlap_window = wse;
  s.scale = scale;
  const Tensor qkv = qkv_in.contiguous(), table = table_in.contiguous();
  Tensor out = Tensor::empty({B, L, C3 / 3}, qkv.dtype(), qkv.device());
  dispatch(op, qkv, [&](auto t) {
    using T = decltype(t);
    cpu::overlap_window_attention_forward<T>(qkv.data<T>(), table.data<T>(), out.data<T>(), s);
  }, [&] {
    SR_CUDA(cuda::overlap_window_attention_forward(qkv.data<float>(), table.data<float>(), out.data<float>(), s));
  });
  const bool gq = qkv_in.requires_grad(), gt = table_in.requires_grad();
  const Tensor qs = qkv.detach(), ts = table.detach();
  return record(op, out, {qkv_in, table_in}, [qs, ts, gq, gt, s](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dqkv, dtable;
    if (gq) dqkv = Tensor::empty(qs.shape(), g.dtype(), g.device());
    if (gt) dtable = Tensor::empty(ts.shape(), g.dtype(), g.device());
    dispatch("overlap_window_attention_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::overlap_window_attention_backward<T>(qs.data<T>(), ts.data<T>(), g.data<T>(),
                                                gq ? dqkv.data<T>() : nullptr, gt ? dtable.data<T>() : nullptr, s);
    }, [&] {
      SR_CUDA(cuda::overlap_window_attention_backward(qs.data<float>(), ts.data<float>(), g.data<float>(),
                                                      gq ? dqkv.data<float>() : nullptr,
                                                      gt ? dtable.data<float>() : nullptr, s));
    });
    return std::vector<Tensor>{dqkv, dtable};
  });
}

}  // namespace sr

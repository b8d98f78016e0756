// HAT's overlapping cross-attention (engine/ops_transformer.h) against a construction written
// from HAT's steps, not from the kernel's index arithmetic: window_partition of q, nn.Unfold of
// the channel-first [k | v] image (zero padding, kernel wse, stride ws) and einops' rearrange
// 'b (nc ch owh oww) nw -> nc (b nw) (owh oww) ch', calculate_rpi_oca's coordinate stacks with
// PyTorch's wrap of negative indices, softmax attention, window_reverse. (That construction is
// still written here in C++; the values PyTorch itself computes, with its own Unfold and
// indexing, are checked through HAT's whole-net fixtures, nets/parity_hat_*.) Plus the float
// path against the double one on five shapes, thread-count independence, and argument errors.
#include <catch2/catch.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops_transformer.h"
#include "kernels/common/overlap_window_attention.h"
#include "kernels/cpu/overlap_window_attention.h"
#include "support/data_support.h"
#include "support/gradcheck.h"

using namespace sr;

namespace {

struct OverlapCase {
  int64_t images, H, W;
  int ws, wse, nh, d;
};

// calculate_rpi_oca, step by step: coords of the ws x ws and wse x wse grids, their differences
// ext - ori, both offsets shifted by ws - wse + 1, the row offset times ws + wse - 1, summed;
// then table[index] as PyTorch indexes it (a negative index counts from the end).
std::vector<int> rpi_oca(int ws, int wse) {
  const int Nq = ws * ws, Nkv = wse * wse, L = ws + wse - 1;
  std::vector<int> index((size_t)Nq * Nkv);
  for (int i = 0; i < Nq; ++i)
    for (int j = 0; j < Nkv; ++j) {
      int dy = j / wse - i / ws, dx = j % wse - i % ws;
      dy += ws - wse + 1;
      dx += ws - wse + 1;
      dy *= L;
      const int t = dy + dx;
      index[(size_t)i * Nkv + j] = t < 0 ? L * L + t : t;
    }
  return index;
}

// out (B, H*W, C); keep_outside = false drops the zero-padded keys from the softmax (the
// planted difference the test checks is there).
std::vector<double> hat_oca_reference(const OverlapCase& c, const std::vector<double>& qkv,
                                      const std::vector<double>& table, double scale, bool keep_outside = true) {
  const int ws = c.ws, wse = c.wse, nh = c.nh, d = c.d, C = nh * d, p = (wse - ws) / 2;
  const int64_t HW = c.H * c.W, nWx = c.W / ws, nW = (c.H / ws) * nWx;
  auto at = [&](int64_t b, int64_t y, int64_t x, int part, int ch) {  // qkv viewed (b, h, w, 3, c)
    return qkv[(size_t)((b * HW + y * c.W + x) * 3 * C + part * C + ch)];
  };
  // kv = cat(k, v) channel-first (b, 2C, H, W); unfold: (b, 2C * wse * wse, nW) with row
  // ch * wse^2 + kh * wse + kw and column l = ly * nWx + lx reading padded[ch, ly ws + kh, lx ws + kw].
  const int64_t rows = 2 * C * wse * wse;
  std::vector<double> unf((size_t)(c.images * rows * nW), 0.0);
  std::vector<char> inside((size_t)(wse * wse * nW), 0);
  for (int64_t b = 0; b < c.images; ++b)
    for (int ch = 0; ch < 2 * C; ++ch)
      for (int kh = 0; kh < wse; ++kh)
        for (int kw = 0; kw < wse; ++kw)
          for (int64_t l = 0; l < nW; ++l) {
            const int64_t y = (l / nWx) * ws + kh - p, x = (l % nWx) * ws + kw - p;
            const bool in = y >= 0 && y < c.H && x >= 0 && x < c.W;
            inside[(size_t)((kh * wse + kw) * nW + l)] = in;
            unf[(size_t)((b * rows + (ch * wse + kh) * wse + kw) * nW + l)] = in ? at(b, y, x, 1 + ch / C, ch % C) : 0.0;
          }
  const std::vector<int> index = rpi_oca(ws, wse);
  std::vector<double> out((size_t)(c.images * HW * C), 0.0), S(wse * wse);
  for (int64_t b = 0; b < c.images; ++b)
    for (int64_t l = 0; l < nW; ++l)
      for (int h = 0; h < nh; ++h)
        for (int i = 0; i < ws * ws; ++i) {
          // q_windows[b nW + l][i] (window_partition), its image position.
          const int64_t y = (l / nWx) * ws + i / ws, x = (l % nWx) * ws + i % ws;
          double m = -1e300;
          for (int j = 0; j < wse * wse; ++j) {
            double dot = 0;
            for (int e = 0; e < d; ++e) {
              // rearrange: k_windows[b nW + l][j][ch] = unf[b, (0 * C + ch) wse^2 + j, l].
              const double k = unf[(size_t)((b * rows + (int64_t)(h * d + e) * wse * wse + j) * nW + l)];
              dot += (at(b, y, x, 0, h * d + e) * scale) * k;
            }
            S[j] = dot + table[(size_t)index[(size_t)i * wse * wse + j] * nh + h];
            if (!keep_outside && !inside[(size_t)(j * nW + l)]) S[j] = -1e300;
            m = std::max(m, S[j]);
          }
          double sum = 0;
          for (int j = 0; j < wse * wse; ++j) sum += (S[j] = std::exp(S[j] - m));
          for (int e = 0; e < d; ++e) {
            double acc = 0;
            for (int j = 0; j < wse * wse; ++j)
              acc += S[j] / sum * unf[(size_t)((b * rows + (int64_t)(C + h * d + e) * wse * wse + j) * nW + l)];
            // window_reverse: the window's token i back at (y, x).
            out[(size_t)((b * HW + y * c.W + x) * C + h * d + e)] = acc;
          }
        }
  return out;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  int64_t worst = -1;
  const double ratio = sr::test::tolerance_ratio(got, want, tol, tol, &worst);
  INFO("worst element " << worst << ": got " << (worst >= 0 ? got[worst] : 0) << " want "
                        << (worst >= 0 ? want[worst] : 0));
  CHECK(ratio <= 1.0);
}

OverlapWindowAttentionShape shape_of(const OverlapCase& c, double scale) {
  OverlapWindowAttentionShape s;
  s.images = c.images;
  s.heads = c.nh;
  s.head_dim = c.d;
  s.H = c.H;
  s.W = c.W;
  s.window = c.ws;
  s.overlap_window = c.wse;
  s.scale = scale;
  return s;
}

}  // namespace

TEST_CASE("ops/overlap_relative_index_is_hats_rpi_oca") {
  // HAT's ws 16 / wse 24 and smaller ones; the kernel's closed form against the coordinate
  // stacks, and every table row reached by exactly one offset (dy, dx).
  for (auto [ws, wse] : {std::pair{16, 24}, {8, 12}, {4, 6}, {2, 2}, {3, 5}, {7, 9}}) {
    INFO("ws " << ws << " wse " << wse);
    const std::vector<int> want = rpi_oca(ws, wse);
    const int L = ws + wse - 1;
    std::vector<int> offset_of(L * L, -1);
    bool same = true, one_offset = true;
    for (int i = 0; i < ws * ws; ++i)
      for (int j = 0; j < wse * wse; ++j) {
        const int t = hat::overlap_relative_index(i, j, ws, wse);
        same = same && t == want[(size_t)i * wse * wse + j] && t >= 0 && t < L * L;
        const int off = (j / wse - i / ws + ws - 1) * L + (j % wse - i % ws + ws - 1);
        if (offset_of[t] < 0) offset_of[t] = off;
        one_offset = one_offset && offset_of[t] == off;
      }
    CHECK(same);
    CHECK(one_offset);
    CHECK(std::count(offset_of.begin(), offset_of.end(), -1) == 0);
  }
}

TEST_CASE("ops/overlap_window_attention_matches_hat_composition") {
  std::mt19937_64 rng(sr::test::fresh_seed());
  const OverlapCase cases[] = {{2, 8, 12, 4, 6, 3, 5}, {1, 6, 9, 3, 5, 2, 4}, {2, 4, 8, 4, 4, 2, 3},
                               {1, 4, 4, 2, 4, 1, 6}, {1, 16, 8, 8, 12, 2, 6}};
  for (const OverlapCase& c : cases) {
    INFO("ws " << c.ws << " wse " << c.wse << " H " << c.H << " W " << c.W);
    const int64_t R = c.ws + c.wse - 1;
    const double sc = 1 / std::sqrt((double)c.d);
    const Tensor qkv = sr::test::random_tensor(rng, {c.images, c.H * c.W, 3 * c.nh * c.d}, -2, 2, {}, 0, false);
    const Tensor table = sr::test::random_tensor(rng, {R * R, c.nh}, -1, 1, {}, 0, false);
    const auto want = hat_oca_reference(c, qkv.to_vector(), table.to_vector(), sc);
    const Tensor y = overlap_window_attention(qkv, table, c.nh, c.H, c.W, c.ws, c.wse, sc);
    CHECK(y.shape() == Shape{c.images, c.H * c.W, c.nh * c.d});
    expect_near_all(y.to_vector(), want, 1e-12);
    expect_near_all(
        overlap_window_attention(qkv.to(DType::f32), table.to(DType::f32), c.nh, c.H, c.W, c.ws, c.wse, sc)
            .to_vector(),
        want, 1e-5);
    if (c.wse > c.ws) {
      // The zero-padded keys take part in the softmax: leaving them out changes the border windows.
      const auto without = hat_oca_reference(c, qkv.to_vector(), table.to_vector(), sc, false);
      double most = 0;
      for (size_t k = 0; k < want.size(); ++k) most = std::max(most, std::fabs(want[k] - without[k]));
      CHECK(most > 1e-2);
    }
  }
}


// The float path (register-blocked GEMMs, kernels/cpu/attention_float.h) against the double
// reference, forward and backward, outputs poisoned: HAT's ws 16 / wse 24 (two windows a side:
// every key window crosses the border), an odd key window (Nkv % 4 != 0: the GEMMs' tail rows)
// three times the query window, Nkv a multiple of 5 (the 5-row blocks) with wse == ws, 33
// channels a head (past two vectors) on 3 images, and key windows four times the query's.
TEST_CASE("ops/overlap_window_attention_float_path_matches_double") {
  std::mt19937_64 rng(sr::test::fresh_seed());
  const OverlapCase cases[] = {{2, 32, 16, 16, 24, 2, 6}, {2, 6, 9, 3, 9, 1, 17}, {1, 10, 5, 5, 5, 2, 30},
                               {3, 8, 4, 4, 6, 2, 33}, {1, 4, 6, 2, 8, 1, 7}};
  const int threads = omp_get_max_threads();
  for (const OverlapCase& c : cases) {
    INFO("ws " << c.ws << " wse " << c.wse << " H " << c.H << " W " << c.W << " d " << c.d << " images " << c.images);
    const OverlapWindowAttentionShape s = shape_of(c, 1 / std::sqrt((double)c.d));
    const int64_t n = c.images * c.H * c.W * c.nh * c.d, T = (int64_t)s.table_rows() * c.nh;
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> qkv(3 * n), table(T), dout(n);
    for (double& x : qkv) x = 2 * u(rng);
    for (double& x : table) x = u(rng);
    for (double& x : dout) x = u(rng);
    std::vector<double> out64(n, 7.0), dq64(3 * n, 7.0), dt64(T, 7.0);
    cpu::overlap_window_attention_forward<double>(qkv.data(), table.data(), out64.data(), s);
    cpu::overlap_window_attention_backward<double>(qkv.data(), table.data(), dout.data(), dq64.data(), dt64.data(),
                                                   s);
    const std::vector<float> qf(qkv.begin(), qkv.end()), tf(table.begin(), table.end()), gf(dout.begin(), dout.end());
    std::vector<float> outf(n, NAN), dqf(3 * n, NAN), dtf(T, NAN);
    omp_set_num_threads(std::max(threads, 2));
    cpu::overlap_window_attention_forward<float>(qf.data(), tf.data(), outf.data(), s);
    cpu::overlap_window_attention_backward<float>(qf.data(), tf.data(), gf.data(), dqf.data(), dtf.data(), s);
    expect_near_all(std::vector<double>(outf.begin(), outf.end()), out64, 1e-5);
    expect_near_all(std::vector<double>(dqf.begin(), dqf.end()), dq64, 2e-5);
    expect_near_all(std::vector<double>(dtf.begin(), dtf.end()), dt64, 2e-4);
    // Each gradient alone is the same as both together.
    std::vector<float> dq_only(3 * n, NAN), dt_only(T, NAN);
    cpu::overlap_window_attention_backward<float>(qf.data(), tf.data(), gf.data(), dq_only.data(), nullptr, s);
    cpu::overlap_window_attention_backward<float>(qf.data(), tf.data(), gf.data(), nullptr, dt_only.data(), s);
    CHECK(dq_only == dqf);
    CHECK(dt_only == dtf);
    // One thread gives the same bits as two or more.
    omp_set_num_threads(1);
    std::vector<float> out1(n, NAN), dq1(3 * n, NAN), dt1(T, NAN);
    cpu::overlap_window_attention_forward<float>(qf.data(), tf.data(), out1.data(), s);
    cpu::overlap_window_attention_backward<float>(qf.data(), tf.data(), gf.data(), dq1.data(), dt1.data(), s);
    omp_set_num_threads(threads);
    CHECK(out1 == outf);
    CHECK(dq1 == dqf);
    CHECK(dt1 == dtf);
  }
}

TEST_CASE("ops/overlap_window_attention_argument_errors") {
  const Tensor qkv = Tensor::zeros({2, 64, 24}, DType::f64), table = Tensor::zeros({81, 2}, DType::f64);
  CHECK_NOTHROW(overlap_window_attention(qkv, table, 2, 8, 8, 4, 6, 0.5));
  CHECK_THROWS_WITH(overlap_window_attention(qkv, table, 2, 8, 8, 4, 5, 0.5),
                    Catch::Contains("overlap_window_attention") && Catch::Contains("overlap_window_size 5"));
  CHECK_THROWS_WITH(overlap_window_attention(qkv, table, 2, 8, 8, 4, 2, 0.5),
                    Catch::Contains("overlap_window_size 2"));
  CHECK_NOTHROW(overlap_window_attention(qkv, table, 2, 4, 16, 4, 6, 0.5));  // 64 tokens as 4 x 16
  CHECK_THROWS_WITH(overlap_window_attention(qkv, table, 2, 8, 12, 4, 6, 0.5),
                    Catch::Contains("overlap_window_attention") && Catch::Contains("8x12"));
  CHECK_THROWS_WITH(overlap_window_attention(qkv, table, 2, 8, 6, 4, 6, 0.5), Catch::Contains("multiple of window_size 4"));
  CHECK_THROWS_WITH(overlap_window_attention(qkv, Tensor::zeros({49, 2}, DType::f64), 2, 8, 8, 4, 6, 0.5),
                    Catch::Contains("relative_position_bias_table") && Catch::Contains("[49, 2]"));
  CHECK_THROWS_WITH(overlap_window_attention(qkv, table, 5, 8, 8, 4, 6, 0.5),
                    Catch::Contains("num_heads (5)"));
  CHECK_THROWS_WITH(overlap_window_attention(Tensor::zeros({2, 4, 3}, DType::f64), Tensor::zeros({1, 1}, DType::f64),
                                             1, 2, 2, 1, 1, 0.5),
                    Catch::Contains("window_size 1"));
}

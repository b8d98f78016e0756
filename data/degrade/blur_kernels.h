// The blur kernels of Real-ESRGAN's degradation model (Wang et al., "Real-ESRGAN: Training
// Real-World Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021, Sec. 3.2):
// isotropic/anisotropic Gaussian, generalized Gaussian, plateau, and the circular
// low-pass ("sinc") filter, generated in float64 on a k x k grid (k odd) and zero-padded,
// centred, to 21 x 21 float32 for the blur.
//
// Grid: element [i][j] (row i downward, column j rightward) sits at p = (x, y) =
// (j - c, i - c), c = (k - 1) / 2. Covariance S = R diag(sx^2, sy^2) R^T with R the
// rotation by theta acting on (x, y), so the sx axis points along (cos t, sin t) with y
// downward. Q = p^T S^-1 p. Unnormalised shapes: Gaussian exp(-Q/2), generalized
// exp(-Q^beta / 2), plateau 1 / (1 + Q^beta); every kernel is divided by its sum.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace sr::data::degrade {

enum class KernelType { iso, aniso, generalized_iso, generalized_aniso, plateau_iso, plateau_aniso, sinc };

// BasicSR's names: "iso", "aniso", "generalized_iso", ..., "sinc"; an error naming `key`
// and the valid names otherwise.
KernelType parse_kernel_type(const std::string& name, const std::string& key);
const char* kernel_type_name(KernelType t);
bool is_isotropic(KernelType t);

constexpr int kKernelSide = 21;  // every kernel is padded to this side (Real-ESRGAN's maximum)
using Kernel21 = std::array<float, kKernelSide * kKernelSide>;

// A normalised k x k Gaussian-family kernel (row-major, float64). Isotropic types use sx
// for both axes and ignore sy and theta; Gaussian types ignore beta.
std::vector<double> gaussian_family_kernel(KernelType t, int k, double sigma_x, double sigma_y, double theta,
                                           double beta);
// The circular low-pass filter of cut-off omega (radians per pixel):
// K = omega J1(omega r) / (2 pi r), centre omega^2 / (4 pi) (the r -> 0 limit); divided
// by its sum when `normalise` (truncation makes the raw sum differ from 1).
std::vector<double> sinc_kernel(int k, double omega, bool normalise = true);
// Centred zero padding of a k x k kernel to 21 x 21, cast to float32.
Kernel21 pad_kernel(const std::vector<double>& kernel, int k);
// 21 x 21 zeros with 1 at the centre: the identity blur.
Kernel21 pulse_kernel();

}  // namespace sr::data::degrade

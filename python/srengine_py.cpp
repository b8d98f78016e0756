// The Python module `srengine` (pybind11): Upscaler, a drop-in for Real-ESRGAN's
// RealESRGANer (numpy images in cv2's BGR(A) order in, the same out, .enhance returning
// (output, img_mode)), training from a config, and BasicSR's PSNR/SSIM. The work runs with
// the GIL released; errors are Python exceptions (RuntimeError) with srengine's message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/eval.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <climits>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/metrics.h"
#include "data/niqe.h"
#include "engine/autograd.h"
#include "engine/cpu_isa.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "infer/lpips_score.h"
#include "infer/open_model.h"
#include "infer/upscale_file.h"
#include "layers/precision.h"
#include "nets/model_presets.h"
#include "train/config.h"
#include "train/stage_loop.h"
#include "train/trainer.h"
#include "train/yaml/options_file.h"

#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#endif

namespace py = pybind11;

namespace {

// The srengine.train calls running in this process. One Ctrl-C stops all of them, and is
// handed on to Python once, by the last run to return: a signal raised while another run still
// has its stop handler installed would count there as a second Ctrl-C (quit at once), and each
// run handing it on would give one KeyboardInterrupt per run. SIGINT goes on as Python's own
// interrupt (PyErr_SetInterruptEx); SIGTERM is raised, so its default action still ends the
// process once no run is left to checkpoint.
class TrainRunCount {
 public:
  class Scope {
   public:
    Scope() {
      std::lock_guard<std::mutex> lock(mutex_);
      ++running_;
    }
    ~Scope() {
      int deliver = 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--running_ == 0) std::swap(deliver, owed_);
        if (deliver != 0) sr::train::StopSignalScope::set_carried_over(0);
      }
      if (deliver == SIGINT) PyErr_SetInterruptEx(SIGINT);
      else if (deliver != 0) std::raise(deliver);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // A run that ends stopped by `signal` while others go on: a run still starting (its stop
    // handlers not yet installed when the signal came) starts with the stop pending.
    void owe_signal(int signal) const {
      std::lock_guard<std::mutex> lock(mutex_);
      if (owed_ == 0) owed_ = signal;
      sr::train::StopSignalScope::set_carried_over(owed_);
    }
  };

 private:
  static inline std::mutex mutex_;
  static inline int running_ = 0;
  static inline int owed_ = 0;
};

using sr::data::Image;

// A numpy image as cv2 gives it (H x W gray, or H x W x C with C 1..4 in BGR(A) order,
// uint8 or uint16) to an Image in RGB(A) order.
Image from_numpy(const py::array& arr, const char* what) {
  SR_CHECK(arr.ndim() == 2 || arr.ndim() == 3, what, ": expected an H x W or H x W x C array, got ", arr.ndim(),
           " dimensions");
  // 16-bit samples in the other byte order (PIL's I;16B): read from a native copy.
  const py::dtype dt = arr.dtype();
  if (dt.kind() == 'u' && dt.itemsize() == 2 && !py::isinstance<py::array_t<uint16_t>>(arr))
    return from_numpy(py::array(arr.attr("astype")("=u2")), what);
  const bool u8 = py::isinstance<py::array_t<uint8_t>>(arr), u16 = py::isinstance<py::array_t<uint16_t>>(arr);
  SR_CHECK(u8 || u16, what, ": expected uint8 or uint16 samples, got dtype ", std::string(py::str(arr.dtype())));
  // The shape as numpy has it before any narrowing: a side past INT_MAX would wrap (2^32 + 16
  // rows read as 16) instead of being refused.
  const py::ssize_t h = arr.shape(0), w = arr.shape(1), c = arr.ndim() == 3 ? arr.shape(2) : 1;
  SR_CHECK(h > 0 && w > 0 && c >= 1 && c <= 4 && h <= INT_MAX && w <= INT_MAX, what,
           ": expected a non-empty image of at most 2^31-1 pixels a side with 1..4 channels, got shape ",
           std::string(py::str(arr.attr("shape"))));
  const int H = (int)h, W = (int)w, C = (int)c;
  Image img(W, H, C, u16 ? 16 : 8);
  const float top = u16 ? 65535.0f : 255.0f;
  // Any strides: read through numpy's indexing arithmetic.
  const auto* base = static_cast<const uint8_t*>(arr.data());
  const py::ssize_t s0 = arr.strides(0), s1 = arr.strides(1), s2 = arr.ndim() == 3 ? arr.strides(2) : 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) {
        // BGR(A) -> RGB(A): channels 0 and 2 swap.
        const int src_c = C >= 3 && (c == 0 || c == 2) ? 2 - c : c;
        const uint8_t* p = base + y * s0 + x * s1 + src_c * s2;
        float v;
        if (u16) {
          uint16_t q;
          std::memcpy(&q, p, 2);
          v = q / top;
        } else {
          v = *p / top;
        }
        img.at(y, x, c) = v;
      }
  return img;
}

// Rows of interleaved RGB(A) floats into a new numpy array in BGR(A) order.
template <typename T>
py::array to_numpy(const std::vector<float>& samples, int H, int W, int C, bool squeeze_gray) {
  std::vector<py::ssize_t> shape = {H, W};
  if (!(C == 1 && squeeze_gray)) shape.push_back(C);
  py::array_t<T> out(shape);
  T* d = out.mutable_data();
  for (size_t px = 0; px < (size_t)H * W; ++px)
    for (int c = 0; c < C; ++c) {
      const int src_c = C >= 3 && (c == 0 || c == 2) ? 2 - c : c;
      const float v = samples[px * C + src_c];
      d[px * C + c] = sizeof(T) == 1 ? (T)sr::data::quantize_u8(v) : (T)sr::data::quantize_u16(v);
    }
  return out;
}

class Upscaler {
 public:
  // Paths are str or os.PathLike (pathlib.Path), as Python code passes them.
  Upscaler(std::optional<std::string> model_name, std::optional<std::filesystem::path> weights,
           std::optional<std::filesystem::path> config, const std::filesystem::path& model_dir, int tile,
           int tile_pad, int pre_pad, std::optional<std::string> device, bool tta,
           std::optional<double> denoise_strength, std::optional<std::vector<std::filesystem::path>> dni_weights,
           std::optional<double> dni_alpha, bool half, std::optional<std::string> precision,
           const std::string& pre_pad_sides) {
    sr::infer::ModelSpec spec;
    spec.spelling = sr::infer::Spelling::api;
    if (model_name) spec.model_name = *model_name;
    if (weights) spec.weights = weights->string();
    if (config) {
      // JSON or a BasicSR option file, read as `srengine infer --config` reads it.
      spec.config = config->string();
      spec.network_g = sr::train::read_generator_config(spec.config).args;
    }
    spec.model_dir = model_dir.string();
    if (denoise_strength) spec.denoise_strength = *denoise_strength;
    if (dni_weights) {
      SR_CHECK(dni_weights->size() == 2 && dni_alpha, "dni_weights takes two files, with dni_alpha");
      spec.weights = (*dni_weights)[0].string();
      spec.dni_weights = (*dni_weights)[1].string();
      spec.dni_alpha = *dni_alpha;
    }
    SR_CHECK(!spec.model_name.empty() || !spec.weights.empty(),
             "Upscaler: give model_name, or weights (with config when the file does not carry its architecture)");
    SR_CHECK(pre_pad_sides == "all" || pre_pad_sides == "right_bottom",
             "Upscaler: pre_pad_sides must be 'all' or 'right_bottom', got '", pre_pad_sides, "'");
    options_.tile = {tile, tile_pad, pre_pad, true, pre_pad_sides == "all", sr::infer::Spelling::api};
    sr::infer::check_tile_options(options_.tile);
    options_.tta = tta;
    std::string dev = device ? *device : "cpu";
#ifdef SRENGINE_WITH_CUDA
    if (!device && sr::cuda::available()) dev = "cuda";
#endif
    options_.device = sr::parse_device(dev);
    sr::activate_device(options_.device, "device " + dev);
    // RealESRGANer's half=True is fp16; precision names any (and must agree with half).
    sr::Precision p = half ? sr::Precision::fp16 : sr::Precision::device_default;
    if (precision) {
      p = sr::parse_precision(*precision, "Upscaler: precision");
      SR_CHECK(!half || p == sr::Precision::fp16, "Upscaler: half=True (fp16) contradicts precision='", *precision,
               "'");
    }
    sr::check_precision_supported(p, options_.device, "native", "Upscaler: precision");
    model_ = sr::infer::open_model(spec);
    model_.net->to(options_.device);
    options_.net_channels = sr::infer::upscaling_channels(model_, "Upscaler");  // Y by a Y net, Cb and Cr by bicubic
    sr::set_precision(*model_.net, p);
    scale_ = sr::infer::net_scale(*model_.net);
  }

  // RealESRGANer.enhance: (output, img_mode) with img_mode 'L', 'RGB' or 'RGBA'; the output
  // has the input's dtype and layout (gray stays 2-D), in BGR(A) order.
  py::tuple enhance(const py::array& img, std::optional<double> outscale, const std::string& alpha_upsampler) {
    SR_CHECK(alpha_upsampler == "realesrgan" || alpha_upsampler == "net" || alpha_upsampler == "bicubic" ||
                 alpha_upsampler == "linear",
             "alpha_upsampler must be 'realesrgan' (through the net), 'bicubic' (MATLAB's) or 'linear' (cv2's), got '",
             alpha_upsampler, "'");
    SR_CHECK(!outscale || (std::isfinite(*outscale) && *outscale > 0),
             "enhance: outscale must be a number > 0 (None: the net's scale), got ", outscale.value_or(0));
    Image in = from_numpy(img, "enhance");
    const bool gray_2d = img.ndim() == 2;  // H x W x 1 comes back H x W x 1
    const int C = in.channels, depth = in.bit_depth;
    const std::string mode = C == 1 ? "L" : C == 2 ? "LA" : C == 3 ? "RGB" : "RGBA";
    sr::infer::FileOptions fo = options_;
    fo.alpha = alpha_upsampler == "bicubic"  ? sr::infer::AlphaMode::bicubic
               : alpha_upsampler == "linear" ? sr::infer::AlphaMode::linear
                                             : sr::infer::AlphaMode::net;
    fo.outscale = outscale.value_or(0);
    int out_w = 0, out_h = 0;
    sr::infer::output_size(in.width, in.height, scale_, fo.outscale, out_w, out_h, sr::infer::Spelling::api);
    std::vector<float> samples;
    try {
      samples.reserve((size_t)out_w * out_h * C);
    } catch (const std::bad_alloc&) {
      sr::fail("enhance: an output of ", out_w, "x", out_h, "x", C, " samples does not fit in memory");
    }
    // Ctrl-C between tiles: the signal handler only sets a flag, which Python reads here.
    struct Interrupted {};
    fo.between_tiles = [] {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) throw Interrupted{};
    };
    try {
      py::gil_scoped_release release;
      sr::NoGradGuard no_grad;
      sr::infer::upscale_image_rows(*model_.net, std::move(in), fo, depth, [&](const float* rows, int n) {
        samples.insert(samples.end(), rows, rows + (size_t)n * out_w * C);
      });
    } catch (const Interrupted&) {
      throw py::error_already_set();  // the KeyboardInterrupt PyErr_CheckSignals raised
    }
    py::array out = depth == 16 ? to_numpy<uint16_t>(samples, out_h, out_w, C, gray_2d)
                                : to_numpy<uint8_t>(samples, out_h, out_w, C, gray_2d);
    return py::make_tuple(out, mode);
  }

  int scale() const { return scale_; }
  // Tiling, changeable between calls (RealESRGANer's tile_size, tile_pad and pre_pad).
  int tile() const { return options_.tile.tile; }
  int tile_pad() const { return options_.tile.tile_pad; }
  int pre_pad() const { return options_.tile.pre_pad; }
  void set_tile(int v) { set_tiling(v, options_.tile.tile_pad, options_.tile.pre_pad); }
  void set_tile_pad(int v) { set_tiling(options_.tile.tile, v, options_.tile.pre_pad); }
  void set_pre_pad(int v) { set_tiling(options_.tile.tile, options_.tile.tile_pad, v); }
  std::string device() const { return options_.device.str(); }
  std::string architecture() const { return model_.network_g.dump(); }

 private:
  void set_tiling(int tile, int tile_pad, int pre_pad) {
    sr::infer::TileOptions t = options_.tile;
    t.tile = tile;
    t.tile_pad = tile_pad;
    t.pre_pad = pre_pad;
    sr::infer::check_tile_options(t);
    options_.tile = t;
  }

  sr::infer::OpenedModel model_;
  sr::infer::FileOptions options_;
  int scale_ = 0;
};

// BasicSR's calculate_psnr / calculate_ssim on two numpy images: as BasicSR asserts, both
// have one shape (a gray H x W is not an H x W x 3 image) and, here, one dtype (an 8-bit and a
// 16-bit image of one picture would compare equal after rounding to 8 bits). The metric runs
// with the GIL released.
double numpy_metric(const py::array& a, const py::array& b, int crop_border, bool test_y_channel, const char* what,
                    double (*metric)(const Image&, const Image&, const sr::data::MetricOptions&)) {
  const auto shape = [](const py::array& x) { return std::string(py::str(x.attr("shape"))); };
  SR_CHECK(shape(a) == shape(b), what, ": img and img2 differ in shape: ", shape(a), " vs ", shape(b));
  const py::dtype da = a.dtype(), db = b.dtype();  // byte order aside ('>u2' is read as uint16)
  SR_CHECK(da.kind() == db.kind() && da.itemsize() == db.itemsize(), what, ": img and img2 differ in dtype: ",
           std::string(py::str(py::object(da))), " vs ", std::string(py::str(py::object(db))));
  const Image x = from_numpy(a, what), y = from_numpy(b, what);
  sr::data::MetricOptions o;
  o.crop_border = crop_border;
  o.test_y_channel = test_y_channel;
  py::gil_scoped_release release;
  return metric(x, y, o);
}

}  // namespace

PYBIND11_MODULE(srengine, m) {
  // A CPU without an extension the module was built for (engine/cpu_isa.h): a reason at
  // import instead of SIGILL at the first vector instruction.
  if (const std::string missing = sr::missing_build_isa(); !missing.empty())
    throw py::import_error("srengine: " + missing);
  m.doc() = "srengine: image super-resolution (Real-ESRGAN / ESRGAN models), training and metrics";
  m.attr("__version__") = SRENGINE_VERSION;
  py::register_exception<sr::Error>(m, "Error", PyExc_RuntimeError);

  m.def("model_names", &sr::model_preset_names, "The released models Upscaler(model_name=...) knows.");

  py::class_<Upscaler>(m, "Upscaler", R"doc(
A super-resolution model ready to upscale numpy images, used like Real-ESRGAN's RealESRGANer.

  model_name   a released model ('RealESRGAN_x4plus', ...: srengine.model_names()); its weights
               file is looked for in model_dir, then in $SRENGINE_MODELS (nothing is downloaded)
  weights      a weights file (.pth read without PyTorch, or .safetensors); with model_name it
               replaces the lookup; alone, the architecture comes from the file
  config       a config whose network_g is the architecture (with weights)
  tile, tile_pad, pre_pad   tiling (tile 0: the whole image at once); tiles are blended
  device       'cpu', 'cuda', 'cuda:N' (default: CUDA when available)
  tta          8-way flip/rotate ensemble
  denoise_strength          realesr-general-x4v3's -dn (default 0.5)
  dni_weights, dni_alpha    two weight files blended (1 - alpha) w1 + alpha w2
  half         RealESRGANer's half: the convolutions in fp16 (the same as precision='fp16')
  pre_pad_sides  'all' (default: every side gets context) or 'right_bottom' (RealESRGANer's)
  precision    the convolutions' precision: 'default' (float32 on the CPU, TF32 on CUDA), 'fp32',
               'tf32', 'bf16' (the CPU's fast path where it has AVX512-BF16) or 'fp16'
)doc")
      .def(py::init<std::optional<std::string>, std::optional<std::filesystem::path>,
                    std::optional<std::filesystem::path>, const std::filesystem::path&, int, int, int,
                    std::optional<std::string>, bool, std::optional<double>,
                    std::optional<std::vector<std::filesystem::path>>, std::optional<double>, bool,
                    std::optional<std::string>, const std::string&>(),
           py::kw_only(), py::arg("model_name") = py::none(), py::arg("weights") = py::none(),
           py::arg("config") = py::none(), py::arg("model_dir") = "weights", py::arg("tile") = 0,
           py::arg("tile_pad") = 10, py::arg("pre_pad") = 0, py::arg("device") = py::none(), py::arg("tta") = false,
           py::arg("denoise_strength") = py::none(), py::arg("dni_weights") = py::none(),
           py::arg("dni_alpha") = py::none(), py::arg("half") = false, py::arg("precision") = py::none(),
           py::arg("pre_pad_sides") = "all")
      .def("enhance", &Upscaler::enhance, py::arg("img"), py::arg("outscale") = py::none(),
           py::arg("alpha_upsampler") = "realesrgan",
           "RealESRGANer.enhance: img as cv2 reads it (uint8/uint16; H x W or H x W x 1 gray, H x W x 2 gray + "
           "alpha, BGR, BGRA) -> (output in the same layout and dtype, img_mode 'L' | 'LA' | 'RGB' | 'RGBA'). "
           "outscale: any output scale > 0 (the net's, then Lanczos-4); None: the net's. alpha_upsampler: "
           "'realesrgan' (through the net), 'bicubic' (MATLAB's) or 'linear' (cv2's INTER_LINEAR). Ctrl-C "
           "stops it between tiles.")
      .def_property_readonly("scale", &Upscaler::scale)
      .def_property("tile", &Upscaler::tile, &Upscaler::set_tile)
      .def_property("tile_pad", &Upscaler::tile_pad, &Upscaler::set_tile_pad)
      .def_property("pre_pad", &Upscaler::pre_pad, &Upscaler::set_pre_pad)
      .def_property_readonly("device", &Upscaler::device)
      .def_property_readonly("architecture", &Upscaler::architecture, "network_g as JSON");

  // Real-ESRGAN's RealESRGANer with its own constructor, so that code written against it
  // (web UIs, GFPGAN's bg_upsampler) runs unchanged: the same arguments, attributes and
  // pre_pad (right and bottom only, default 10). The architecture comes from the weights
  // file, so `model` (a torch module there) is kept but not used.
  py::exec(R"py(
import os as _os


class RealESRGANer:
    """Real-ESRGAN's RealESRGANer(scale, model_path, dni_weight=None, model=None, tile=0,
    tile_pad=10, pre_pad=10, half=False, device=None, gpu_id=None) on srengine's Upscaler.
    model_path: a .pth / .safetensors file, or two files with dni_weight [w1, w2] (w1 + w2 = 1)
    for deep network interpolation. device: 'cpu', 'cuda', 'cuda:N' or a torch.device."""

    def __init__(self, scale, model_path, dni_weight=None, model=None, tile=0, tile_pad=10, pre_pad=10,
                 half=False, device=None, gpu_id=None):
        def path_of(p):
            p = _os.fspath(p)
            if p.startswith(('http://', 'https://')):
                raise Error(f"RealESRGANer: model_path {p!r} is a URL: srengine downloads nothing; "
                            "download the file and pass its path")
            return p
        kw = dict(tile=tile, tile_pad=tile_pad, pre_pad=pre_pad, half=bool(half), pre_pad_sides='right_bottom')
        if gpu_id is not None:
            kw['device'] = f'cuda:{int(gpu_id)}'
        elif device is not None:
            kw['device'] = str(device)
        if isinstance(model_path, (list, tuple)):
            if dni_weight is None or len(model_path) != 2 or len(dni_weight) != 2:
                raise Error("RealESRGANer: a list model_path takes two files, with dni_weight [w1, w2]")
            w1, w2 = float(dni_weight[0]), float(dni_weight[1])
            if abs(w1 + w2 - 1.0) > 1e-6:
                raise Error(f"RealESRGANer: dni_weight {list(dni_weight)} must sum to 1 (w1 x first + w2 x second)")
            kw['dni_weights'] = [path_of(p) for p in model_path]
            kw['dni_alpha'] = w2
        else:
            kw['weights'] = path_of(model_path)
        self._upscaler = Upscaler(**kw)
        self.scale = self._upscaler.scale
        if scale is not None and int(scale) != self.scale:
            raise Error(f"RealESRGANer: scale={scale}, but the weights are a x{self.scale} network")
        self.model = model
        self.half = bool(half)
        self.device = self._upscaler.device

    tile_size = property(lambda self: self._upscaler.tile, lambda self, v: setattr(self._upscaler, 'tile', v))
    tile_pad = property(lambda self: self._upscaler.tile_pad,
                        lambda self, v: setattr(self._upscaler, 'tile_pad', v))
    pre_pad = property(lambda self: self._upscaler.pre_pad, lambda self, v: setattr(self._upscaler, 'pre_pad', v))

    def enhance(self, img, outscale=None, alpha_upsampler='realesrgan'):
        """(output, img_mode) as RealESRGANer.enhance; an alpha_upsampler other than 'realesrgan'
        resizes the alpha plane as RealESRGANer does, by cv2's INTER_LINEAR."""
        alpha = 'realesrgan' if alpha_upsampler == 'realesrgan' else 'linear'
        return self._upscaler.enhance(img, outscale, alpha)
)py",
           m.attr("__dict__"));

  m.def(
      "train",
      [](const std::filesystem::path& config_path, const std::vector<std::string>& overrides,
         const std::optional<std::string>& stage, const std::optional<std::filesystem::path>& resume) {
        // JSON or a BasicSR option file (docs/BASICSR_YAML.md), read as `srengine train` reads it.
        const sr::train::LoadedConfig loaded =
            sr::train::load_config_or_options(config_path.string(), overrides, sr::train::ConfigUse::train);
        sr::train::print_config_notes(loaded.notes);
        const nlohmann::json& cfg = loaded.config;
        sr::train::TrainOptions opt;
        opt.only_stage = stage.value_or("");
        opt.resume = resume ? resume->string() : "";
        // A Ctrl-C while the config was read: stop before the run starts.
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        int status = 0;
        {
          py::gil_scoped_release release;
          const TrainRunCount::Scope counted;
          status = sr::train::run_training(cfg, opt);
          // While the run lasts, SIGINT / SIGTERM only ask it for a checkpoint at the end of the
          // iteration (train/stage_loop.h). Then the signal is handed on to the handler Python had,
          // so that Ctrl-C raises KeyboardInterrupt, as anywhere in Python, instead of hiding in the
          // return value (a loop over configs would go on to the next run).
          if (status > 128) counted.owe_signal(status - 128);
        }
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        return status;
      },
      py::arg("config_path"), py::arg("overrides") = std::vector<std::string>{}, py::arg("stage") = py::none(),
      py::arg("resume") = py::none(), R"doc(
`srengine train` from Python: config_path (str or os.PathLike) is srengine's JSON or a BasicSR
option file; overrides are 'key.path=value' strings as --set takes them; stage: only that stage;
resume: 'auto' or a .state file. Returns 0 when every stage finished. Errors (a missing file, a
bad key or value) raise srengine.Error naming it.

Ctrl-C (SIGINT) while it runs: a checkpoint at the end of the iteration, then KeyboardInterrupt
(continue with resume='auto'); a second Ctrl-C ends the process at once, the last checkpoint
intact. SIGTERM likewise goes to Python's own handler after the checkpoint. Called from another
thread, train returns 130 (143) and the main thread gets the KeyboardInterrupt. The run holds no GIL:
other Python threads keep running. Its log goes to the process's stdout (C's, not sys.stdout:
a notebook shows it in the server's terminal, not in the cell) and to train.log in the
experiment folder.
)doc");

  m.def(
      "calculate_psnr",
      [](const py::array& a, const py::array& b, int crop_border, bool test_y_channel) {
        return numpy_metric(a, b, crop_border, test_y_channel, "calculate_psnr", &sr::data::calculate_psnr);
      },
      py::arg("img"), py::arg("img2"), py::arg("crop_border") = 0, py::arg("test_y_channel") = false,
      "BasicSR's calculate_psnr for uint8 HWC images in BGR order (as cv2 reads them); img and img2 of one shape "
      "and dtype.");
  m.def(
      "calculate_ssim",
      [](const py::array& a, const py::array& b, int crop_border, bool test_y_channel) {
        return numpy_metric(a, b, crop_border, test_y_channel, "calculate_ssim", &sr::data::calculate_ssim);
      },
      py::arg("img"), py::arg("img2"), py::arg("crop_border") = 0, py::arg("test_y_channel") = false,
      "BasicSR's calculate_ssim for uint8 HWC images in BGR order (as cv2 reads them); img and img2 of one shape "
      "and dtype.");
  m.def(
      "calculate_niqe",
      [](const py::array& img, int crop_border, const std::string& input_order, const std::string& convert_to,
         const std::filesystem::path& pris_params) {
        // BasicSR's keyword arguments, for calls written for it: HWC images measured on Y.
        SR_CHECK(input_order == "HWC", "calculate_niqe: input_order '", input_order, "' is not supported (images are "
                 "HWC, as cv2 reads them)");
        SR_CHECK(convert_to == "y", "calculate_niqe: convert_to '", convert_to, "' is not supported (NIQE measures "
                 "BT.601 Y, BasicSR's default)");
        SR_CHECK(img.dtype().kind() == 'u' && img.dtype().itemsize() == 1, "calculate_niqe: img must be uint8 (the "
                 "8-bit images BasicSR measures), got ", std::string(py::str(py::object(img.dtype()))));
        const sr::data::NiqeModel model = sr::data::load_niqe_model(pris_params.string());
        const Image x = from_numpy(img, "calculate_niqe");
        py::gil_scoped_release release;
        return sr::data::calculate_niqe(x, crop_border, model);
      },
      py::arg("img"), py::arg("crop_border"), py::arg("input_order") = "HWC", py::arg("convert_to") = "y",
      py::kw_only(), py::arg("pris_params"),
      "BasicSR's calculate_niqe (no reference; lower is more natural) for a uint8 HWC image in BGR order (a 2-D "
      "gray image as it is), against the pristine model pris_params: an .npz such as BasicSR's "
      "basicsr/metrics/niqe_pris_params.npz or one written by `srengine niqe-fit`. A flat image scores inf; at "
      "least two 96x96 blocks must remain after cropping.");
  py::class_<sr::Lpips, std::shared_ptr<sr::Lpips>>(
      m, "LPIPS",
      "LPIPS v0.1 (lower is closer; the lpips package's numbers, as BasicSR's calculate_lpips.py reports them). "
      "lpips_weights: the package's weights/v0.1/vgg.pth or alex.pth (the net is told from it); backbone_weights: "
      "torchvision's vgg16-397923af.pth or alexnet-owt-7be5be79.pth (None when lpips_weights is a whole LPIPS "
      "state dict). The network is loaded once; call the object on images.")
      .def(py::init([](const std::filesystem::path& lpips_weights,
                       const std::optional<std::filesystem::path>& backbone_weights, const std::string& device) {
             const sr::Device d = sr::parse_device(device);
             sr::activate_device(d, "device " + device);
             auto lpips = sr::Lpips::from_files(lpips_weights.string(), backbone_weights ? backbone_weights->string() : "");
             lpips->to(d);
             return lpips;
           }),
           py::arg("lpips_weights"), py::arg("backbone_weights") = py::none(), py::arg("device") = "cpu")
      .def(
          "__call__",
          [](sr::Lpips& lpips, const py::array& img, const py::array& img2, int crop_border) {
            for (const py::array* a : {&img, &img2})
              SR_CHECK(a->dtype().kind() == 'u' && a->dtype().itemsize() == 1, "LPIPS: images must be uint8 (as cv2 "
                       "reads them), got ", std::string(py::str(py::object(a->dtype()))));
            const Image a = from_numpy(img, "LPIPS"), b = from_numpy(img2, "LPIPS");
            SR_CHECK(a.width == b.width && a.height == b.height, "LPIPS: img is ", a.size_str(), " but img2 is ",
                     b.size_str());
            py::gil_scoped_release release;
            return sr::calculate_lpips(b, a, crop_border, lpips);
          },
          py::arg("img"), py::arg("img2"), py::arg("crop_border") = 0,
          "The distance of two uint8 HWC images in BGR order (as cv2 reads them; a 2-D gray image is replicated), "
          "crop_border pixels cut from every edge (BasicSR's script cuts none).")
      .def_property_readonly("net", [](const sr::Lpips& lpips) { return std::string(sr::lpips_net_name(lpips.net())); });
}

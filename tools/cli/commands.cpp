// The subcommand registry: one line per command implemented in tools/cli/cmd_*.cpp.
#include "tools/cli/commands.h"

namespace sr::cli {

int run_config(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);
int run_infer(const std::vector<std::string>& args);
int run_test(const std::vector<std::string>& args);
int run_resize(const std::vector<std::string>& args);
int run_degrade(const std::vector<std::string>& args);
int run_metrics(const std::vector<std::string>& args);
int run_niqe_fit(const std::vector<std::string>& args);
int run_prepare(const std::vector<std::string>& args);
int run_multiscale(const std::vector<std::string>& args);
int run_lmdb(const std::vector<std::string>& args);
int run_convert(const std::vector<std::string>& args);
int run_export(const std::vector<std::string>& args);
int run_quantize(const std::vector<std::string>& args);
int run_bench_loader(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", "train a network: every stage of the config (L1, then GAN), with validation and checkpoints", &run_train},
      {"config", "validate a config and print it with defaults (--doc: key reference)", &run_config},
      {"infer", "upscale an image or folder with network_g and BasicSR-named weights (tiled, any size)", &run_infer},
      {"test", "evaluate network_g on the config's val*/test* sets: SR images and PSNR/SSIM tables", &run_test},
      {"resize", "MATLAB-compatible bicubic resize of an image or a folder", &run_resize},
      {"degrade", "write the LQ images Real-ESRGAN's degradation model makes from GT images", &run_degrade},
      {"metrics", "PSNR/SSIM (BasicSR-identical) of SR images against GT images, and no-reference NIQE", &run_metrics},
      {"niqe-fit", "fit a NIQE pristine model (.npz) to a folder of pristine images", &run_niqe_fit},
      {"prepare", "cut HR images into sub-images (and bicubic LQ) for training", &run_prepare},
      {"multiscale", "downscaled copies of HR images for multi-scale training (BasicSR's DF2K_multiscale, "
                     "Pillow's Lanczos)", &run_multiscale},
      {"lmdb", "write a folder of images as a BasicSR LMDB folder (create_lmdb.py's data.mdb and meta_info.txt)",
       &run_lmdb},
      {"convert", "PyTorch .pth (read without Python) or safetensors weights to float32 safetensors", &run_convert},
      {"export", "write a generator as an ONNX model (fp32 or fp16; docs/EXPORT.md)", &run_export},
      {"quantize", "post-training int8 quantisation to a QDQ ONNX model, with its PSNR/SSIM vs fp32 (docs/EXPORT.md)",
       &run_quantize},
      {"bench", "benchmarks: `bench kernels` (every kernel on the nets' shapes), `bench train` (training step), "
                "`bench infer`, `bench loader`", &run_bench},
      {"bench-loader", "the same as `bench loader` (training data loader throughput)", &run_bench_loader},
  };
  return table;
}

}  // namespace sr::cli

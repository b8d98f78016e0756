// Config loading, overrides, schema validation and the generated key reference.
#include "train/config.h"

#include <algorithm>
#include <numeric>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "data/degrade/option_keys.h"
#include "data/degrade/options.h"
#include "data/niqe.h"
#include "data/output_names.h"
#include "engine/error.h"
#include "engine/json_depth.h"
#include "engine/regular_file.h"
#include "engine/suggest.h"
#include "kernels/kernel_choice.h"
#include "nets/lpips.h"
#include "train/data_channels.h"

namespace sr::train {

namespace {

// ---- Schema ---------------------------------------------------------------------------

enum class Kind { object, array, string, integer, number, boolean, network, dataset_map };

struct Spec {
  Kind kind = Kind::object;
  json def;            // default value; null = none
  bool required = false;
  std::string doc;
  std::vector<std::pair<std::string, Spec>> fields;  // object members, in documentation order
  std::vector<Spec> item;                            // array element / map value spec
  std::vector<std::string> choices;                  // allowed string values
  std::optional<double> min, max;
};

using Fields = std::vector<std::pair<std::string, Spec>>;

Spec object(Fields f, std::string doc = "") {
  Spec s;
  s.kind = Kind::object;
  s.fields = std::move(f);
  s.def = json::object();
  s.doc = std::move(doc);
  return s;
}
Spec optional_object(Fields f, std::string doc) {
  Spec s = object(std::move(f), std::move(doc));
  s.def = nullptr;  // absent unless given
  return s;
}
Spec string(json def, std::string doc, std::vector<std::string> choices = {}) {
  Spec s;
  s.kind = Kind::string;
  s.def = std::move(def);
  s.doc = std::move(doc);
  s.choices = std::move(choices);
  return s;
}
Spec integer(json def, std::string doc, std::optional<double> min = std::nullopt,
             std::optional<double> max = std::nullopt) {
  Spec s;
  s.kind = Kind::integer;
  s.def = std::move(def);
  s.doc = std::move(doc);
  s.min = min;
  s.max = max;
  return s;
}
Spec number(json def, std::string doc, std::optional<double> min = std::nullopt,
            std::optional<double> max = std::nullopt) {
  Spec s = integer(std::move(def), std::move(doc), min, max);
  s.kind = Kind::number;
  return s;
}
Spec boolean(json def, std::string doc) {
  Spec s;
  s.kind = Kind::boolean;
  s.def = std::move(def);
  s.doc = std::move(doc);
  return s;
}
Spec array(Spec item, json def, std::string doc) {
  Spec s;
  s.kind = Kind::array;
  s.item = {std::move(item)};
  s.def = std::move(def);
  s.doc = std::move(doc);
  return s;
}
// An object whose member names are the user's (e.g. metric names): each member's value is
// checked against `value` when given, else only the object kind is.
Spec map(json def, std::string doc, std::optional<Spec> value = std::nullopt) {
  Spec s = object({}, std::move(doc));
  s.def = std::move(def);
  if (value) s.item = {std::move(*value)};
  return s;
}
Spec required(Spec s) {
  s.required = true;
  s.def = nullptr;
  return s;
}

// Real-ESRGAN's degradation keys (data/degrade/option_keys.h) in one section. No schema
// default: absent keys stay absent (configs without the model are unchanged) and the
// model's parser supplies its own defaults, quoted in the doc text.
void add_degradation_keys(Spec& section, bool dataset) {
  for (const auto& k : data::degrade::degradation_option_keys()) {
    if (k.in_dataset != dataset) continue;
    const std::string doc = "Real-ESRGAN degradation: " + k.doc + "; default `" + k.def.dump() + "`";
    Spec s;
    if (k.def.is_array() && !k.def.empty() && k.def[0].is_string())
      s = array(string(nullptr, "", {"iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso",
                                     "plateau_aniso"}),
                nullptr, doc);
    else if (k.def.is_array()) s = array(number(nullptr, ""), nullptr, doc);
    else if (k.def.is_boolean()) s = boolean(nullptr, doc);
    else if (k.def.is_number_integer()) s = integer(nullptr, doc, 1);
    else s = number(nullptr, doc, 0, 1);  // the probabilities
    section.fields.emplace_back(k.name, std::move(s));
  }
}

Spec dataset_spec() {
  Spec s = object({
      {"name", string("", "display name (logs, output folders): a val*/test* set's SR images go to "
                          "`visualization/<name>/` (else `visualization/<key>/`), in training validation and "
                          "`srengine test`; two sets with one folder are an error")},
      {"type", string("PairedImageDataset",
                      "PairedImageDataset (GT and LQ folders), GTOnlyBicubicDataset (GT folder only; "
                      "LQ made on the fly by MATLAB-compatible bicubic after modcrop) or RealESRGANPairedDataset "
                      "(Real-ESRGAN fine-tuning pairs: meta_info lines 'gt_path, lq_path'; otherwise as "
                      "PairedImageDataset), RealESRGANDataset (GT folder only; LQ synthesised on the fly by "
                      "Real-ESRGAN's second-order degradation model, docs/DEGRADATIONS.md; training sets of "
                      "realesrnet / realesrgan stages) or LQOnlyDataset (LQ folder only, no GT: `srengine test` "
                      "upscales it without metrics; BasicSR's SingleImageDataset in an option file). "
                      "SingleImageDataset: deprecated name of GTOnlyBicubicDataset in a JSON config",
                      {"PairedImageDataset", "GTOnlyBicubicDataset", "RealESRGANPairedDataset", "RealESRGANDataset",
                       "LQOnlyDataset", "SingleImageDataset"})},
      {"dataroot_gt", string(nullptr, "folder of ground-truth (HR) images, required by every type but "
                                      "LQOnlyDataset; relative paths are resolved from the config file's folder, "
                                      "then the working directory; an empty path (in any of these four keys) is the "
                                      "key left out")},
      {"dataroot_lq", string(nullptr, "folder of low-quality (LR) images (PairedImageDataset, RealESRGANPairedDataset, "
                                      "LQOnlyDataset)")},
      {"meta_info_file", string(nullptr, "optional list of GT file names (LQOnlyDataset: LQ file names), one per line "
                                         "(first token); for RealESRGANPairedDataset 'gt_path, lq_path' per line")},
      {"meta_info", string(nullptr, "the same as meta_info_file (the name Real-ESRGAN's datasets use); give one "
                                    "of the two")},
      {"filename_tmpl", string("{}", "LQ file name from the GT stem, e.g. '{}x4'")},
      {"io_backend", object({{"type", string("disk", "disk (image files in the dataroot folders) or lmdb (every "
                                                   "dataroot a BasicSR NAME.lmdb folder of data.mdb and meta_info.txt, "
                                                   "as create_lmdb.py makes them; docs/DATA.md)",
                                             {"disk", "lmdb"})}},
                            "BasicSR compatibility")},
      {"color", string("rgb", "rgb (the images as they are: three channels) or y (BasicSR's `color: y`: GT and LQ "
                              "replaced by their BT.601 Y channel, Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, "
                              "after the LQ is made, cropped and flipped; one channel, so network_g takes and gives 1 "
                              "channel; validation measures and saves the Y images; not for RealESRGANDataset; "
                              "docs/DATA.md)",
                       {"rgb", "y"})},
      {"gt_size", integer(128, "training GT patch size; must be a multiple of scale. Before the first iteration (and "
                                "in `srengine config --check`) every training image's header is read: a GT smaller "
                                "than gt_size, a paired LQ smaller than gt_size / scale or not exactly GT / scale, is "
                                "an error naming the image (a RealESRGANDataset pads smaller images to crop_pad_size, "
                                "as Real-ESRGAN does)", 1)},
      {"use_hflip", boolean(true, "random horizontal flip (p=0.5)")},
      {"use_rot", boolean(true, "random vertical flip and transpose (each p=0.5)")},
      {"batch_size_per_gpu", integer(16, "batch size per process (per GPU)", 1)},
      {"num_worker_per_gpu", integer(2, "decoding/augmentation threads per process", 0, 64)},
      {"dataset_enlarge_ratio", integer(1, "repeat the file list this many times per epoch", 1)},
      {"skip_bad_images", boolean(false, "warn and skip unreadable images instead of stopping (a training run "
                                           "that stops on one saves its state first: docs/DATA.md)")},
      {"max_pixels", integer(100000000, "refuse images with more pixels than this (decompression bombs)", 1)},
      {"degrade_on", string("auto", "RealESRGANDataset: where the degradation runs. cpu: the loader workers "
                                    "degrade each batch (data/degrade/pipeline.h); device: the workers only crop, "
                                    "flip and draw the parameters, and the training device degrades the batch "
                                    "(data/degrade/pipeline_device.h: the same draws, so the same LQ up to the "
                                    "blur's float sums; needs a cuda or simt device); auto: device when training "
                                    "on cuda, else cpu",
                            {"auto", "cpu", "device"})},
  });
  add_degradation_keys(s, true);
  return s;
}

Spec optimizer_spec(double lr) {
  return object({
      {"type", string("Adam", "Adam or AdamW (decoupled weight decay)", {"Adam", "AdamW"})},
      {"lr", number(lr, "learning rate", 0.0)},
      {"betas", array(number(nullptr, "beta", 0.0, 1.0), json::array({0.9, 0.99}), "Adam betas")},
      {"eps", number(1e-8, "Adam epsilon", 0.0)},
      {"weight_decay", number(0.0, "L2 (Adam) or decoupled (AdamW) weight decay", 0.0)},
  });
}

Spec scheduler_spec() {
  return object({
      {"type", string("MultiStepLR", "MultiStepLR or CosineAnnealingRestartLR (BasicSR semantics: the LR "
                                     "used at iteration t is the schedule at t-1)",
                      {"MultiStepLR", "CosineAnnealingRestartLR"})},
      {"milestones", array(integer(nullptr, "iteration", 1), json::array(), "MultiStepLR: LR x gamma from iteration m+1 on")},
      {"gamma", number(0.5, "MultiStepLR decay factor", 0.0)},
      {"restarts", array(integer(nullptr, "iteration", 0), json::array(), "MultiStepLR restarts")},
      {"periods", array(integer(nullptr, "iterations", 1), json::array(), "CosineAnnealingRestartLR cycle lengths")},
      {"restart_weights", array(number(nullptr, "weight", 0.0), json::array({1}), "LR scale of each restart/cycle")},
      {"eta_min", number(1e-7, "CosineAnnealingRestartLR minimum LR", 0.0)},
  });
}

Spec stage_spec() {
  return object({
      {"name", required(string(nullptr, "stage name (unique; used by --stage and file names)"))},
      {"type", required(string(nullptr, "sr (SRModel: pixel [+ perceptual] loss), srgan (SRGANModel: + "
                                        "adversarial loss against network_d), esrgan (ESRGANModel: the "
                                        "relativistic average GAN of ESRGAN), realesrnet (RealESRNetModel: as sr, on "
                                        "Real-ESRGAN's synthesised pairs through the training-pair pool) or "
                                        "realesrgan (RealESRGANModel: as srgan, with the *_gt_usm targets and the pool)",
                                        {"sr", "srgan", "esrgan", "realesrnet", "realesrgan"}))},
      {"total_iter", required(integer(nullptr, "iterations of this stage", 1))},
      {"init_from_previous", boolean(true, "start G (and its EMA) from the previous stage's final "
                                           "generator (EMA weights when EMA is on)")},
      {"warmup_iter", integer(-1, "linear LR warm-up iterations (-1: off)", -1)},
      {"optim_g", optimizer_spec(2e-4)},
      {"optim_d", optimizer_spec(1e-4)},
      {"scheduler", scheduler_spec()},
      {"pixel_opt", optional_object({
           {"type", string("L1Loss", "L1Loss, MSELoss or CharbonnierLoss", {"L1Loss", "MSELoss", "CharbonnierLoss"})},
           {"loss_weight", number(1.0, "weight", 0.0)},
           {"reduction", string("mean", "only mean", {"mean"})},
           {"eps", number(1e-12, "CharbonnierLoss eps", 0.0)},
       }, "pixel loss (absent: none)")},
      {"perceptual_opt", optional_object({
           {"type", string("PerceptualLoss", "", {"PerceptualLoss"})},
           {"layer_weights", required(map(json::object(), "VGG layer -> weight, e.g. {\"conv5_4\": 1}"))},
           {"vgg_type", string("vgg19", "", {"vgg19"})},
           {"use_input_norm", boolean(true, "ImageNet mean/std normalisation")},
           {"range_norm", boolean(false, "map [-1,1] to [0,1] first")},
           {"perceptual_weight", number(1.0, "", 0.0)},
           {"style_weight", number(0.0, "BasicSR's Gram-matrix style loss weight: must be 0 (not implemented)", 0.0)},
           {"criterion", string("l1", "", {"l1", "l2", "fro"})},
           {"vgg_weights", string("", "torchvision's VGG19 ImageNet weights: vgg19-dcbb9e9d.pth as downloaded (any "
                                      ".pth) or safetensors; the loss is skipped with a warning when empty, an error "
                                      "when the file is missing")},
       }, "perceptual loss (absent: none)")},
      {"gan_opt", optional_object({
           {"type", string("GANLoss", "", {"GANLoss"})},
           {"gan_type", string("hinge", "hinge, vanilla (BCE) or lsgan", {"hinge", "vanilla", "lsgan"})},
           {"real_label_val", number(1.0, "")},
           {"fake_label_val", number(0.0, "")},
           {"loss_weight", number(0.1, "weight of the generator's adversarial term (D losses are unweighted)", 0.0)},
       }, "adversarial loss (srgan stages)")},
      {"net_d_iters", integer(1, "update G every net_d_iters iterations", 1)},
      {"net_d_init_iters", integer(0, "D-only warm-up iterations", 0)},
      {"l1_gt_usm", boolean(true, "realesrgan: the pixel loss compares with the USM-sharpened GT patch")},
      {"percep_gt_usm", boolean(true, "realesrgan: the perceptual loss compares with the USM-sharpened GT patch")},
      {"gan_gt_usm", boolean(false, "realesrgan: the discriminator's real input is the USM-sharpened GT patch")},
  });
}

Spec metric_spec() {
  return object({
      {"type", required(string(nullptr, "calculate_psnr and calculate_ssim (against GT), calculate_lpips (against "
                                        "GT: lower is more alike; nets/lpips.h), calculate_niqe (no reference: lower "
                                        "is more natural; data/niqe.h)",
                               {"calculate_psnr", "calculate_ssim", "calculate_lpips", "calculate_niqe"}))},
      {"crop_border", integer(0, "pixels cropped from each border before measuring", 0)},
      {"test_y_channel", boolean(false, "PSNR/SSIM: measure on BT.601 Y instead of RGB (LPIPS measures RGB; NIQE "
                                        "always measures Y and "
                                        "ignores the key, as BasicSR's calculate_niqe does)")},
      {"better", string(nullptr, "which way the best validation goes: lower for calculate_lpips and "
                                 "calculate_niqe, higher for PSNR and SSIM (the default each)", {"higher", "lower"})},
      {"pris_params", string(nullptr, "calculate_niqe: the pristine model, an .npz of mu_pris_param, "
                                      "cov_pris_param and gaussian_window (BasicSR's "
                                      "basicsr/metrics/niqe_pris_params.npz, or `srengine niqe-fit`); relative to "
                                      "the config file, else the working directory")},
      {"lpips_weights", string(nullptr, "calculate_lpips: the linear layers, the lpips package's "
                                        "weights/v0.1/vgg.pth (BasicSR's calculate_lpips.py uses vgg) or alex.pth, "
                                        "which also tell the net; or a whole LPIPS state dict; relative to the "
                                        "config file, else the working directory")},
      {"backbone_weights", string(nullptr, "calculate_lpips: the backbone's ImageNet weights, torchvision's "
                                           "vgg16-397923af.pth or alexnet-owt-7be5be79.pth (not needed when "
                                           "lpips_weights holds the whole net); relative to the config file, else "
                                           "the working directory")},
  });
}

// path.param_key_g / _d: the group of a weights file to load (nets/load_weights.h). An option
// file that leaves the key out gets params_or_bare (train/basicsr_options.cpp).
Spec param_key_spec(std::string doc) {
  return string("auto", std::move(doc), {"auto", "params", "params_ema", "bare", "params_or_bare"});
}

Spec network_spec(std::string doc) {
  Spec s;
  s.kind = Kind::network;
  s.def = nullptr;
  s.doc = std::move(doc);
  return s;
}

const Spec& schema() {
  static const Spec root = [] {
    Spec r = object({
      {"name", required(string(nullptr, "experiment name, one folder name (no '/'): outputs go to "
                                        "<experiments_root>/<name>/, which one run at a time owns (experiment.lock)"))},
      {"scale", integer(4, "upscaling factor, 1, 2, 3, 4 or 8 (RRDBNet: 1, 2, 4; SRVGGNetCompact, MSRResNet: 2, 3, "
                           "4; EDSR, RCAN: 2, 3, 4, 8; SwinIR: 2, 3, 4, 8 by pixelshuffle, 2, 3, 4 by "
                           "pixelshuffledirect, 4 by nearest+conv, 1 without a head; HAT: 2, 3, 4, 8; ECBSR: 1, 2, 3, 4); also network_g's "
                           "scale (RRDBNet, ECBSR) or upscale (the others) when "
                           "that is not given", 1, 8)},
      {"num_gpu", integer(1, "GPUs per process (BasicSR compatibility; one process per GPU)", 0)},
      {"device", string("auto", "cpu, cuda, cuda:N, simt (the CUDA kernels on the SIMT interpreter: slow, for tests) or auto (CUDA when available)")},
      {"manual_seed", integer(0, "seed of every random stream (weights, data, augmentation)", 0)},
      {"conv_impl", string("native", "convolution variant on CUDA: native (the default hand-written variant), cudnn, "
                                     "or a variant by name (naive, tf32, bf16, fp16, igemm_v2, wgmma (sm_90a), "
                                     "cudnn_fp32; docs/KERNELS.md); SRENGINE_CONV_IMPL overrides",
                           kernels::conv_impl_names())},
      {"queue_size", integer(180, "realesrnet / realesrgan stages on RealESRGANDataset: pairs in the training-pair "
                                  "pool that mixes batches (BasicSR's _dequeue_and_enqueue); a multiple of "
                                  "datasets.train.batch_size_per_gpu; 0: no pool", 0)},
      {"precision", string("default", "arithmetic of the generator's convolutions in training (weights, Adam state, "
                                      "activations and losses stay float32; the EMA copy, discriminators and VGG run "
                                      "'default'): default (the device's math: float32 on the CPU, the conv_impl's "
                                      "variant on CUDA, TF32 as before the key existed), fp32, tf32, bf16 (CPU: "
                                      "AVX512-BF16) or fp16 (with dynamic loss scaling, train.loss_scale); bf16 and fp16 with conv_impl "
                                      "cudnn are refused. Operands are rounded to the format, products summed in float32",
                           {"default", "fp32", "tf32", "bf16", "fp16"})},
      {"rdb_impl", string("fused", "residual dense blocks: fused (one buffer, no cat copies) or unfused "
                                   "(cat + conv, the reference); SRENGINE_RDB_IMPL overrides", {"fused", "unfused"})},
      {"datasets", [] {
         Spec s;
         s.kind = Kind::dataset_map;
         s.def = json::object();
         s.doc = "train (required for training) and any number of val*/test* datasets";
         s.item = {dataset_spec()};
         return s;
       }()},
      {"network_g", network_spec("generator: {\"type\": \"RRDBNet\", ...} with BasicSR's arguments")},
      {"network_d", network_spec("discriminator for srgan stages: UNetDiscriminatorSN or VGGStyleDiscriminator")},
      {"path", object({
           {"experiments_root", string("experiments", "root folder of all experiments")},
           {"pretrain_network_g",
            string("", "weights loaded into G before the first stage (safetensors or a torch.save .pth)")},
           {"pretrain_network_d",
            string("", "weights loaded into D before the first srgan stage (safetensors or a torch.save .pth)")},
           {"param_key_g", param_key_spec("the keys of pretrain_network_g loaded: params, params_ema, bare (a plain "
                                           "state dict, as srengine writes), auto (params_ema, else params, else "
                                           "bare) or params_or_bare (a BasicSR option file without the key: params, "
                                           "else bare keys with a note); a missing params / params_ema falls back to "
                                           "the other")},
           {"param_key_d", param_key_spec("the keys of pretrain_network_d loaded, as param_key_g")},
           {"strict_load_g", boolean(true, "missing/unexpected keys are errors")},
           {"strict_load_d", boolean(true, "missing/unexpected keys are errors")},
       })},
      {"train", object({
           {"ema_decay", number(0.999, "EMA of G (0: off)", 0.0, 1.0)},
           {"max_nan_steps", integer(10, "stop after this many consecutive non-finite losses", 1)},
           {"loss_scale", optional_object({
                {"init", number(65536.0, "initial scale S of the generator loss", 0.0)},
                {"growth_factor", number(2.0, "S *= growth_factor after growth_interval finite updates in a row", 1.0)},
                {"backoff_factor", number(0.5, "S *= backoff_factor after an update with non-finite gradients "
                                               "(that update is skipped: no optimizer step, no EMA)", 0.0, 1.0)},
                {"growth_interval", integer(2000, "finite updates in a row before S grows", 1)},
            }, "dynamic loss scaling of precision fp16 (on whenever precision is fp16, these defaults when "
               "absent; an error with any other precision): the generator loss times S before backward, "
               "gradients times 1/S after; the lr schedule advances on skipped updates")},
           {"inject_nan_iters", array(integer(nullptr, "iteration", 1), json::array(),
                                      "fault injection for tests: the generator loss of these iterations "
                                      "(of every stage) is replaced by NaN")},
           {"cuda_graph", string("auto", "capture each iteration shape as a CUDA graph after one eager "
                                         "iteration and replay it (docs/GPU.md, \"CUDA graphs\"). auto: on "
                                         "a CUDA GPU when the stage can be captured (else eager, with one log "
                                         "line saying why), eager on the CPU and the simt device; true: "
                                         "captured, an error where it cannot be (the CPU; MPI, which "
                                         "all-reduces through the host); false: eager",
                                 {"auto", "true", "false"})},
           {"stages", required(array(stage_spec(), nullptr, "ordered training stages"))},
       })},
      {"val", object({
           {"val_freq", integer(5000,
                                "validate every val_freq iterations (and at the end of each stage). Each val "
                                "image goes through the generator whole, as `srengine test` runs it: "
                                "reflect-padded to the size the net needs (RRDBNet x2 and x1 unshuffle by 2 "
                                "and 4) and cropped back, so val images of any size are measured. A validation "
                                "that fails (an image unreadable past its header) stops the run "
                                "after saving the training state of that iteration, so --resume auto loses "
                                "nothing; a generator whose output is not finite stops it without saving",
                                1)},
           {"save_img", boolean(true, "write SR images of the validation sets (training validation and `srengine "
                                      "test`; the metrics are computed either way). They are named by the LQ "
                                      "file's stem (the GT's in a GT-only set): `<stem>_<stage>_<iter>.png` in "
                                      "training, `<stem>_<suffix>.png` in `srengine test`")},
           {"suffix", string("", "suffix of saved SR image names (no '/'): `<stem>_<stage>_<iter>_<suffix>.png` in "
                                 "training; `srengine test` uses it for --suffix, else the config's name")},
           {"report_images", integer(3, "validation images shown in report.html", 0)},
           {"metrics", map(json{{"psnr", {{"type", "calculate_psnr"}, {"crop_border", 4}}},
                                {"ssim", {{"type", "calculate_ssim"}, {"crop_border", 4}}}},
                           "name -> metric; `{}` for none (a BasicSR option file's `metrics: ~`): SR images "
                           "are still written and validation logs no metric. Absent, PSNR and SSIM with "
                           "crop_border equal to `scale` (the 4 shown is scale 4's)", metric_spec())},
       })},
      {"logger", object({
           {"print_freq", integer(100, "console/log line every print_freq iterations", 1)},
           {"save_checkpoint_freq", integer(5000, "checkpoint every N iterations (and at each stage end)", 1)},
           {"keep_last", integer(3, "checkpoints kept per kind (older ones deleted, except the generator "
                                         "models of each metric's best validation, when a checkpoint fell on "
                                         "that iteration: val_freq a multiple of save_checkpoint_freq)", 1)},
           {"use_tb_logger", boolean(false, "also write the logged losses and validation metrics as TensorBoard event files, "
                                            "<experiment>/tb_logger/<stage>/ (metrics.jsonl is always written)")},
       })},
      {"dist", object({
           {"backend", string("auto", "auto (NCCL on CUDA, MPI on CPU), nccl or mpi", {"auto", "nccl", "mpi"})},
           {"bucket_mb", number(25.0, "gradient all-reduce bucket size in MB", 0.001)},
           {"timeout_s", integer(300, "a rank that waits longer than this for the others aborts the job", 1)},
       })},
    });
    add_degradation_keys(r, false);
    return r;
  }();
  return root;
}

// The schema without required keys, for commands that read a subset of a config.
Spec without_required(Spec s) {
  s.required = false;
  for (auto& [_, f] : s.fields) f = without_required(f);
  for (auto& i : s.item) i = without_required(i);
  return s;
}

// ---- Validation ---------------------------------------------------------------------------

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::object: return "object";
    case Kind::array: return "array";
    case Kind::string: return "string";
    case Kind::integer: return "integer";
    case Kind::number: return "number";
    case Kind::boolean: return "boolean";
    case Kind::network: return "object with \"type\"";
    case Kind::dataset_map: return "object";
  }
  return "?";
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

// Every problem of a config, so that one run lists them all instead of one per run.
struct Problems {
  std::vector<std::string> list;
  template <class... Args>
  void add(Args&&... args) {
    list.push_back(str_cat(std::forward<Args>(args)...));
  }
  // Adds the message when `ok` is false. The message is built either way (it is cheap).
  template <class... Args>
  void check(bool ok, Args&&... args) {
    if (!ok) add(std::forward<Args>(args)...);
  }
  [[noreturn]] void raise() const {
    if (list.size() == 1) fail(list[0]);
    std::string all = str_cat("config: ", list.size(), " problems:");
    for (size_t i = 0; i < list.size(); ++i) all += str_cat("\n  ", i + 1, ". ", list[i]);
    fail(all);
  }
};

void validate(json& value, const Spec& spec, const std::string& path, Problems& p);

void validate_object(json& value, const Spec& spec, const std::string& path, Problems& p) {
  if (!value.is_object()) return p.add("config: '", path, "' must be an object, got ", value.type_name(), " ", value.dump());
  std::vector<std::string> valid;
  for (const auto& [k, _] : spec.fields) valid.push_back(k);
  std::vector<std::string> unknown;
  for (auto it = value.begin(); it != value.end(); ++it)
    if (std::find(valid.begin(), valid.end(), it.key()) == valid.end()) unknown.push_back(it.key());
  for (const auto& k : unknown) {
    p.add("config: unknown key '", join(path, k), "'", did_you_mean(k, valid));
    value.erase(k);
  }
  for (const auto& [k, sub] : spec.fields) {
    const std::string key = join(path, k);
    if (!value.contains(k) || value[k].is_null()) {
      if (sub.required) {
        p.add("config: missing required key '", key, "' (", sub.doc, ")");
        continue;
      }
      if (sub.def.is_null()) {
        value.erase(k);
        continue;
      }
      value[k] = sub.def;
    }
    validate(value[k], sub, key, p);
  }
}

void validate(json& value, const Spec& spec, const std::string& path, Problems& p) {
  switch (spec.kind) {
    case Kind::object:
      if (!spec.fields.empty()) {
        validate_object(value, spec, path, p);
      } else {
        if (!value.is_object()) return p.add("config: '", path, "' must be an object, got ", value.dump());
        if (!spec.item.empty())
          for (auto it = value.begin(); it != value.end(); ++it)
            validate(it.value(), spec.item[0], join(path, it.key()), p);
      }
      return;
    case Kind::dataset_map:
      if (!value.is_object()) return p.add("config: '", path, "' must be an object, got ", value.dump());
      for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string& k = it.key();
        if (k != "train" && k.rfind("val", 0) != 0 && k.rfind("test", 0) != 0) {
          p.add("config: unknown dataset '", join(path, k), "': dataset names are 'train' or start with 'val' or 'test'",
                did_you_mean(k, {"train", "val", "test"}));
          continue;
        }
        validate(it.value(), spec.item[0], join(path, k), p);
      }
      return;
    case Kind::network:
      p.check(value.is_object() && value.contains("type") && value["type"].is_string(), "config: '", path,
              "' must be an object with a string \"type\" (e.g. {\"type\": \"RRDBNet\"}), got ", value.dump());
      return;
    case Kind::array:
      if (!value.is_array())
        return p.add("config: '", path, "' must be an array, got ", value.type_name(), " ", value.dump());
      for (size_t i = 0; i < value.size(); ++i) validate(value[i], spec.item[0], join(path, std::to_string(i)), p);
      return;
    case Kind::string:
      // An auto | true | false key: a boolean is the choice of its name.
      if (value.is_boolean() && std::find(spec.choices.begin(), spec.choices.end(), "true") != spec.choices.end())
        value = value.get<bool>() ? "true" : "false";
      if (!value.is_string()) return p.add("config: '", path, "' must be a string, got ", value.dump());
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), value.get<std::string>()) == spec.choices.end()) {
        std::string all;
        for (const auto& c : spec.choices) all += (all.empty() ? "" : ", ") + c;
        p.add("config: '", path, "' is '", value.get<std::string>(), "', expected one of: ", all,
              did_you_mean(value.get<std::string>(), spec.choices));
      }
      return;
    case Kind::integer:
      if (value.is_number_float() && value.get<double>() == (double)(int64_t)value.get<double>())
        value = (int64_t)value.get<double>();  // 1e5 written as a float is still an integer
      if (!value.is_number_integer()) return p.add("config: '", path, "' must be an integer, got ", value.dump());
      break;
    case Kind::number:
      if (!value.is_number()) return p.add("config: '", path, "' must be a number, got ", value.dump());
      break;
    case Kind::boolean:
      p.check(value.is_boolean(), "config: '", path, "' must be true or false, got ", value.dump());
      return;
  }
  const double v = value.get<double>();
  if (spec.min && v < *spec.min) p.add("config: '", path, "' is ", value.dump(), ", must be >= ", *spec.min);
  if (spec.max && v > *spec.max) p.add("config: '", path, "' is ", value.dump(), ", must be <= ", *spec.max);
}

// Runs one group of cross-key checks. After schema problems a group may meet a missing or
// mistyped key (already reported): it then stops quietly; its own errors are collected.
template <class F>
void guarded(Problems& p, F&& checks) {
  try {
    checks();
  } catch (const json::exception&) {
  } catch (const Error& e) {
    p.add(e.what());
  }
}

// RealESRGANDataset makes its pairs for the Real-ESRGAN stage types only, and their pool
// swaps whole batches: queue_size must be a multiple of the batch (BasicSR asserts it).
void check_realesrgan_stage(const json& c, size_t i, const std::string& type, Problems& p) {
  const json* train = c.contains("datasets") && c["datasets"].contains("train") ? &c["datasets"]["train"] : nullptr;
  const bool synth = train && train->value("type", "") == "RealESRGANDataset";
  const bool realesr = type == "realesrnet" || type == "realesrgan";
  p.check(!synth || realesr, "config: 'train.stages.", i, ".type' is '", type,
          "', but datasets.train is a RealESRGANDataset, whose pairs are made for realesrnet / realesrgan stages");
  if (!synth || !realesr) return;
  const int64_t q = c.at("queue_size"), b = train->at("batch_size_per_gpu");
  p.check(q % b == 0, "config: 'queue_size' is ", q, ", not a multiple of 'datasets.train.batch_size_per_gpu' ", b,
          ": the pool swaps whole batches (use ", q / b * b, " or ", (q / b + 1) * b, ")");
}

// Checks that involve several keys or the file system.
// A path a config names: absolute, else relative to the config's folder, else to the working
// directory; the absolute, normalised path found, or a problem naming `key` and nullopt.
std::optional<std::string> resolve_config_path(const std::string& value, const std::string& config_dir,
                                               const std::string& key, Problems& p) {
  const std::filesystem::path path = value;
  std::vector<std::filesystem::path> candidates;
  if (!path.is_absolute() && !config_dir.empty()) candidates.push_back(std::filesystem::path(config_dir) / path);
  candidates.push_back(path);
  for (const auto& cand : candidates)
    if (std::filesystem::exists(cand)) return std::filesystem::absolute(cand).lexically_normal().string();
  p.add("config: '", key, "': '", path.string(), "' does not exist",
        path.is_absolute() ? "" : " (looked relative to the config file and to the working directory)");
  return std::nullopt;
}

// The val.metrics that compare with a GT image (all but calculate_niqe), by name.
std::vector<std::string> metrics_needing_gt(const json& c) {
  std::vector<std::string> names;
  if (!c.contains("val") || !c["val"].is_object() || !c["val"].contains("metrics") || !c["val"]["metrics"].is_object())
    return names;
  for (const auto& [name, m] : c["val"]["metrics"].items())
    if (!m.is_object() || m.value("type", "") != "calculate_niqe") names.push_back(name);
  return names;
}

// A metric's model file key: required (or optional) for its type, refused for the others, and
// resolved like a dataset path. Returns the resolved path, "" when absent; nullopt when given
// but unusable (the problem is added).
std::optional<std::string> metric_file(json& m, const std::string& base, const std::string& type,
                                       const std::string& key, const std::string& owner, bool required,
                                       const std::string& what, const std::string& config_dir, Problems& p) {
  const bool given = m.contains(key) && !m[key].is_null();
  if (type != owner) {
    p.check(!given, "config: '", base, ".", key, "' is read by ", owner, " only ('", base, ".type' is ", type, ")");
    return given ? std::nullopt : std::optional<std::string>("");
  }
  if (!given) {
    p.check(!required, "config: '", base, ".", key, "' is required by ", owner, ": ", what);
    return required ? std::nullopt : std::optional<std::string>("");
  }
  if (!m[key].is_string() || m[key].get<std::string>().empty()) {
    p.add("config: '", base, ".", key, "' must be the path of ", what, ", got ", m[key].dump());
    return std::nullopt;
  }
  const std::optional<std::string> found = resolve_config_path(m[key].get<std::string>(), config_dir, base + "." + key, p);
  if (found) m[key] = *found;
  return found;
}

// Each metric's `better` (its type's way when absent) and its model files (NIQE's pristine
// model, LPIPS's weights): resolved like a dataset path and read, so a missing or broken file
// stops the run before training.
void check_metrics(json& c, const std::string& config_dir, Problems& p) {
  if (!c.contains("val") || !c["val"].is_object() || !c["val"].contains("metrics") || !c["val"]["metrics"].is_object())
    return;
  for (auto& [name, m] : c["val"]["metrics"].items()) {
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) continue;
    const std::string base = "val.metrics." + name, type = m["type"];
    const bool niqe = type == "calculate_niqe", lpips = type == "calculate_lpips";
    if (!m.contains("better") || m["better"].is_null()) m["better"] = niqe || lpips ? "lower" : "higher";
    p.check(!(niqe || lpips) || m["better"] == "lower", "config: '", base, ".better' is higher, but a lower ",
            niqe ? "NIQE is the more natural image" : "LPIPS is the image closer to GT", " (leave the key out)");
    p.check(!lpips || !m.contains("test_y_channel") || m["test_y_channel"] != true, "config: '", base,
            ".test_y_channel' is true, but LPIPS measures RGB images (its network takes three channels)");
    const auto pris = metric_file(m, base, type, "pris_params", "calculate_niqe", true,
                                  "the pristine model .npz (BasicSR's basicsr/metrics/niqe_pris_params.npz; `pip show "
                                  "basicsr` names the folder), or one fitted to your own sharp images with "
                                  "`srengine niqe-fit --input DIR --output MODEL.npz`",
                                  config_dir, p);
    const auto lin = metric_file(m, base, type, "lpips_weights", "calculate_lpips", true,
                                 "the lpips package's weights/v0.1/vgg.pth or alex.pth (`pip show lpips` names the "
                                 "folder)", config_dir, p);
    const auto backbone = metric_file(m, base, type, "backbone_weights", "calculate_lpips", false,
                                      "torchvision's ImageNet weights of the LPIPS net (vgg16-397923af.pth, "
                                      "alexnet-owt-7be5be79.pth)", config_dir, p);
    // The files are read here only as far as telling what they are (the LPIPS backbone, up to
    // half a gigabyte with torchvision's classifier, is loaded once, by parse_config).
    if (pris && !pris->empty()) {
      try {
        data::load_niqe_model(*pris);
      } catch (const Error& e) {
        p.add("config: '", base, ".pris_params': ", e.what());
      }
    }
    if (lin && !lin->empty() && backbone) {
      try {
        Lpips::check_files(*lin, *backbone);
      } catch (const Error& e) {
        p.add("config: '", base, ".lpips_weights'", backbone->empty() ? "" : " / '" + base + ".backbone_weights'",
              ": ", e.what());
      }
    }
  }
}

// ---- Stage schedules ---------------------------------------------------------------------
// srengine's MultiStepLR is BasicSR's MultiStepRestartLR (milestones, gamma, restarts,
// restart_weights) and CosineAnnealingRestartLR takes periods, restart_weights and eta_min;
// BasicSR passes every scheduler key to the constructor, so a key of the other type is a
// TypeError there. A schedule that cannot run (BasicSR fails or asserts) is an error; a value
// the stage ends before reaching (a milestone after total_iter) is a note (stage_schedule_notes),
// as shortening a published config with --set total_iter must keep working.

const std::vector<const char*> kMultiStepKeys = {"milestones", "gamma", "restarts", "restart_weights"};
const std::vector<const char*> kCosineKeys = {"periods", "restart_weights", "eta_min"};
constexpr const char* kMultiStepTakes = "milestones, gamma, restarts and restart_weights";
constexpr const char* kCosineTakes = "periods, restart_weights and eta_min";

std::string entries(size_t n) { return str_cat(n, n == 1 ? " entry" : " entries"); }

// A scheduler key given with a value other than its default: a validated config (a run's
// saved config.json) holds every default, which is not a choice of either type.
bool scheduler_key_given(const json& o, const char* key) {
  static const Spec spec = scheduler_spec();
  if (!o.is_object() || !o.contains(key) || o[key].is_null()) return false;
  for (const auto& [k, sub] : spec.fields)
    if (k == key) return o[key] != sub.def;
  return true;
}

// `given_stage`: the stage as written (before defaults), to tell a key given from a default.
void check_stage_schedule(const json& stage, const json& given_stage, size_t i, Problems& p) {
  const std::string base = str_cat("train.stages.", i, ".");
  const int64_t total = stage.at("total_iter");
  for (const char* name : {"optim_g", "optim_d"}) {
    const size_t n = stage.at(name).at("betas").size();
    p.check(n == 2, "config: '", base, name, ".betas' needs two values (beta1, beta2), got ", n);
  }
  const json& s = stage.at("scheduler");
  const std::string sb = base + "scheduler.";
  const std::string type = s.at("type");
  if (type != "MultiStepLR" && type != "CosineAnnealingRestartLR") return;  // the schema has said so
  const bool cosine = type == "CosineAnnealingRestartLR";
  const json given_s = given_stage.is_object() && given_stage.contains("scheduler") ? given_stage["scheduler"] : json();
  for (const char* key : cosine ? kMultiStepKeys : kCosineKeys) {
    if (std::string(key) == "restart_weights") continue;  // both types take it
    p.check(!scheduler_key_given(given_s, key), "config: '", sb, key, "' is given, but '", sb, "type' is ", type, ", which takes ",
            cosine ? kCosineTakes : kMultiStepTakes, " (", key, " belongs to ",
            cosine ? "MultiStepLR" : "CosineAnnealingRestartLR", "; BasicSR refuses it as an unexpected keyword)");
  }
  const size_t weights = s.at("restart_weights").size();
  if (cosine) {
    const auto periods = s.at("periods").get<std::vector<int64_t>>();
    if (periods.empty()) return p.add("config: '", sb, "periods' is required by CosineAnnealingRestartLR (cycle lengths)");
    p.check(weights == periods.size(), "config: '", sb, "restart_weights' has ", entries(weights), " but '", sb,
            "periods' has ", entries(periods.size()), ": CosineAnnealingRestartLR takes one weight per period (BasicSR "
            "asserts equal lengths)");
    const int64_t sum = std::accumulate(periods.begin(), periods.end(), int64_t(0));
    p.check(sum >= total, "config: '", sb, "periods' sum to ", sum, ", less than '", base, "total_iter' ", total,
            ": CosineAnnealingRestartLR has no cycle for iterations ", sum + 1, " to ", total, " (BasicSR fails "
            "there); make the periods sum to at least ", total);
  } else {
    const size_t restarts = s.at("restarts").size();
    // No restarts is BasicSR's restarts (0,) with restart_weights (1,): the default weight only.
    if (restarts == 0)
      p.check(s.at("restart_weights") == json::array({1}), "config: '", sb, "restart_weights' has ", entries(weights),
              " but '", sb, "restarts' has 0: MultiStepLR takes one weight per restart (give '", sb,
              "restarts', or leave restart_weights out)");
    else
      p.check(weights == restarts, "config: '", sb, "restart_weights' has ", entries(weights), " but '", sb,
              "restarts' has ", entries(restarts), ": MultiStepLR takes one weight per restart (BasicSR asserts equal "
              "lengths)");
  }
  // G is updated at the iterations after net_d_init_iters that are multiples of net_d_iters.
  const std::string stype = stage.at("type");
  if (stype == "srgan" || stype == "esrgan" || stype == "realesrgan") {
    const int64_t init = stage.at("net_d_init_iters"), every = stage.at("net_d_iters");
    if (init >= total)
      p.add("config: '", base, "net_d_init_iters' is ", init, ", not below '", base, "total_iter' ", total,
            ": G is updated only after the D-only warm-up, so this ", stype, " stage would never update G");
    else
      p.check((init / every + 1) * every <= total, "config: '", base, "net_d_iters' is ", every, " with '", base,
              "net_d_init_iters' ", init, " and '", base, "total_iter' ", total, ": no iteration updates G");
  }
}

void check_stage_schedules(const json& given_config, const json& c, Problems& p) {
  const json& stages = c.at("train").at("stages");
  const json* given_stages = nullptr;
  if (given_config.contains("train") && given_config["train"].is_object() && given_config["train"].contains("stages") &&
      given_config["train"]["stages"].is_array())
    given_stages = &given_config["train"]["stages"];
  for (size_t i = 0; i < stages.size(); ++i)
    guarded(p, [&] {
      const json given_stage = given_stages && i < given_stages->size() ? (*given_stages)[i] : json();
      check_stage_schedule(stages[i], given_stage, i, p);
    });
}

void check_semantics(json& c, Problems& p) {
  guarded(p, [&] {
    // train.loss_scale belongs to precision fp16 (train/loss_scaler.h); given with another
    // precision it would do nothing, which a user would not expect.
    const json& t = c.at("train");
    if (t.contains("loss_scale") && t["loss_scale"].is_object()) {
      const std::string precision = c.at("precision");
      p.check(precision == "fp16", "config: 'train.loss_scale' is given but 'precision' is '", precision,
              "': loss scaling applies to precision 'fp16' only (remove train.loss_scale or set precision fp16)");
      const json& ls = t["loss_scale"];
      p.check(ls.at("init").get<double>() > 0, "config: 'train.loss_scale.init' is ", ls.at("init").dump(),
              ", must be > 0");
      const double b = ls.at("backoff_factor");
      p.check(b > 0 && b < 1, "config: 'train.loss_scale.backoff_factor' is ", ls.at("backoff_factor").dump(),
              ", must be in (0, 1)");
    }
  });
  guarded(p, [&] {
    const int64_t scale = c.at("scale");
    p.check(scale == 1 || scale == 2 || scale == 3 || scale == 4 || scale == 8, "config: 'scale' is ", scale,
            ", must be 1, 2, 3, 4 or 8");
    // The generator's own factor key (RRDBNet: scale, the others: upscale) defaults to
    // 4 in BasicSR; absent, it takes the top-level scale (as `srengine infer` does), so
    // scale 2 without network_g.scale builds a x2 net instead of failing at the first loss.
    if (c.contains("network_g")) {
      json& g = c["network_g"];
      const std::string type = g.at("type");
      const bool upscale_key = type == "SRVGGNetCompact" || type == "EDSR" || type == "MSRResNet" || type == "RCAN" ||
                               type == "SwinIR" || type == "HAT";
      const char* key = type == "RRDBNet" || type == "ECBSR" ? "scale" : upscale_key ? "upscale" : nullptr;
      if (key && !g.contains(key)) g[key] = scale;
      if (key)
        p.check(g[key] == scale, "config: 'network_g.", key, "' (", g[key].dump(), ") differs from 'scale' (", scale,
                ")");
      // Each generator's own factors (BasicSR's): RRDBNet unshuffles its input for x1 / x2 and
      // upsamples by 4; the pixel-shuffle heads of SRVGGNetCompact, MSRResNet and EDSR take 3 as well;
      // SwinIR's heads take 2, 3, 4 and 8, or 1 without a head (its constructor checks each head's);
      // HAT's pixelshuffle head is EDSR's; ECBSR's one pixel_shuffle takes 1 to 4.
      const std::vector<int64_t> factors = type == "RRDBNet"           ? std::vector<int64_t>{1, 2, 4}
                                           : type == "SRVGGNetCompact" ? std::vector<int64_t>{2, 3, 4}
                                           : type == "MSRResNet"       ? std::vector<int64_t>{2, 3, 4}
                                           : type == "EDSR" || type == "RCAN" || type == "HAT"
                                               ? std::vector<int64_t>{2, 3, 4, 8}
                                           : type == "SwinIR"          ? std::vector<int64_t>{1, 2, 3, 4, 8}
                                           : type == "ECBSR"           ? std::vector<int64_t>{1, 2, 3, 4}
                                                                       : std::vector<int64_t>{};
      if (!factors.empty() && std::find(factors.begin(), factors.end(), scale) == factors.end()) {
        std::string list;
        for (size_t i = 0; i < factors.size(); ++i)
          list += (i == 0 ? "" : i + 1 == factors.size() ? " or " : ", ") + std::to_string(factors[i]);
        p.check(false, "config: 'scale' is ", scale, ", which ", type, " does not upscale by (it takes ", list, ")");
      }
    }
  });
  // The experiment folder is <experiments_root>/<name>: one folder name, never a path.
  guarded(p, [&] {
    data::check_file_name_component(c.at("name").get<std::string>(), "config: 'name'",
                                    "the experiment folder is <path.experiments_root>/<name>");
  });
  guarded(p, [&] { data::check_name_part(c.at("val").at("suffix").get<std::string>(), "config: 'val.suffix'"); });
  bool any_gan = false;
  guarded(p, [&] {
    const auto& stages = c.at("train").at("stages");
    p.check(!stages.empty(), "config: 'train.stages' is empty");
    std::vector<std::string> names;
    for (size_t i = 0; i < stages.size(); ++i) {
      const std::string type = stages[i].value("type", "");
      if (type == "srgan" || type == "esrgan" || type == "realesrgan") any_gan = true;
    }
    for (size_t i = 0; i < stages.size(); ++i) {
      guarded(p, [&] {
        const std::string name = stages[i].at("name");
        p.check(std::find(names.begin(), names.end(), name) == names.end(), "config: 'train.stages.", i,
                ".name' repeats stage name '", name, "'");
        names.push_back(name);
        const std::string type = stages[i].at("type");
        const bool gan = type == "srgan" || type == "esrgan" || type == "realesrgan";
        check_realesrgan_stage(c, i, type, p);
        if (gan)
          p.check(stages[i].contains("gan_opt"), "config: 'train.stages.", i, ".gan_opt' is required for an ", type,
                  " stage");
        p.check(stages[i].contains("pixel_opt") || stages[i].contains("perceptual_opt") || gan,
                "config: stage 'train.stages.", i, "' has no loss (set pixel_opt)");
      });
    }
  });
  p.check(!any_gan || c.contains("network_d"),
          "config: 'network_d' is required by the srgan/esrgan/realesrgan stage(s)");
  if (!c.contains("datasets") || !c["datasets"].is_object()) return;
  for (auto it = c["datasets"].begin(); it != c["datasets"].end(); ++it) {
    guarded(p, [&] {
      const std::string base = "datasets." + it.key();
      auto& d = it.value();
      if (it.key() == "train") {
        const int64_t scale = c.at("scale");
        const int64_t gt = d.at("gt_size");
        // The patch must split into whole LQ pixels, and the U-Net discriminator halves it
        // three times: the suggestions are multiples of both (at x3: of 24).
        const bool unet = any_gan && c.contains("network_d") && c["network_d"].at("type") == "UNetDiscriminatorSN";
        const int64_t m = unet ? std::lcm(scale, int64_t(8)) : scale;
        const std::string use = (gt / m > 0 ? " (use " + std::to_string(gt / m * m) + " or " : " (use ") +
                                std::to_string((gt / m + 1) * m) + ")";
        p.check(gt % scale == 0, "config: '", base, ".gt_size' is ", gt, ", not a multiple of scale ", scale,
                unet ? " (and of 8 for UNetDiscriminatorSN)" : "", use);
        if (unet && gt % scale == 0)
          p.check(gt % 8 == 0, "config: '", base, ".gt_size' is ", gt,
                  ": UNetDiscriminatorSN needs input sides that are multiples of 8", use);
        if (any_gan && c.contains("network_d") && c["network_d"].at("type") == "VGGStyleDiscriminator") {
          const int64_t in = c["network_d"].value("input_size", 128);
          p.check(gt == in, "config: '", base, ".gt_size' is ", gt, " but VGGStyleDiscriminator has input_size ", in);
        }
      }
      const std::string type = d.at("type");
      if (type == "PairedImageDataset" || type == "RealESRGANPairedDataset" || type == "LQOnlyDataset")
        p.check(d.contains("dataroot_lq"), "config: '", base, ".dataroot_lq' is required by ", type);
      if (type != "LQOnlyDataset")
        p.check(d.contains("dataroot_gt"), "config: missing required key '", base, ".dataroot_gt' (folder of "
                "ground-truth images; only LQOnlyDataset has none)");
      // Training learns from GT and validates against it; an LQ-only set can only be upscaled
      // (srengine test, which drops datasets.train). With datasets.train present the config
      // trains, and every val*/test* set is validated during training.
      if (it.key() == "train")
        p.check(type != "LQOnlyDataset", "config: '", base, ".type' is LQOnlyDataset (LQ images only, BasicSR's "
                "SingleImageDataset): training needs GT images (PairedImageDataset, or GTOnlyBicubicDataset to "
                "make LQ by bicubic)");
      else if (c["datasets"].contains("train") && type == "LQOnlyDataset") {
        const std::vector<std::string> gt_metrics = metrics_needing_gt(c);
        std::string named;
        for (size_t k = 0; k < gt_metrics.size(); ++k)
          named += str_cat(k == 0 ? "" : k + 1 == gt_metrics.size() ? " and " : ", ", "'val.metrics.", gt_metrics[k], "'");
        p.check(gt_metrics.empty(), "config: '", base, ".type' is LQOnlyDataset (LQ images only, BasicSR's "
                "SingleImageDataset): validation during training measures against GT, as ", named,
                gt_metrics.size() == 1 ? " does" : " do", "; validate such a set with calculate_niqe (no reference) "
                "only, give it GT (PairedImageDataset, GTOnlyBicubicDataset), or upscale it with `srengine test`");
      }
      p.check(it.key() == "train" || type != "RealESRGANDataset", "config: '", base,
              ".type' is RealESRGANDataset, which makes training pairs only (evaluate on PairedImageDataset, e.g. "
              "LQ made by srengine degrade)");
      if (type == "RealESRGANDataset") {
        // The degradation options' values (probabilities, ranges, kernel lists), each error
        // naming its key; and the crop the degradation starts from against scale and gt_size.
        guarded(p, [&] { data::degrade::parse_degradation_options(d, base, c); });
        const int64_t pad = d.value("crop_pad_size", 400), gt = d.at("gt_size");
        p.check(gt <= pad, "config: '", base, ".gt_size' is ", gt, ", larger than '", base, ".crop_pad_size' ", pad,
                " (the training patch is cut from the degraded crop)");
        p.check(d.value("degrade_on", "auto") != "device" || c.value("device", "auto") != "cpu", "config: '", base,
                ".degrade_on' is device, but training runs on the CPU (device: cpu): use cpu or auto, or train on "
                "cuda");
      }
      p.check(!(d.contains("meta_info") && d.contains("meta_info_file")), "config: '", base, ".meta_info' and '", base,
              ".meta_info_file' are both given: they name the same file, keep one");
    });
  }
}

// The dataset keys that hold a path (resolved below; empty ones dropped first).
constexpr const char* kDatasetPathKeys[] = {"dataroot_gt", "dataroot_lq", "meta_info_file", "meta_info"};

// An empty dataset path is the key left out (BasicSR's `meta_info_file: ~`), before the
// checks: a folder the dataset type needs is then reported missing, one it does not read is
// ignored. Resolved as a path, "" would be the config's own folder (a dataroot would train on
// the images beside the config).
void drop_empty_dataset_paths(json& c) {
  if (!c.contains("datasets") || !c["datasets"].is_object()) return;
  for (auto& [name, d] : c["datasets"].items()) {
    if (!d.is_object()) continue;
    for (const char* key : kDatasetPathKeys)
      if (d.contains(key) && d[key].is_string() && d[key].get<std::string>().empty()) d.erase(key);
  }
}

// Resolves a dataset folder: absolute, else relative to the config's folder, else to the
// working directory; a folder found nowhere is an error naming the key.
void resolve_dataset_paths(json& c, const std::string& config_dir, Problems& p) {
  if (!c.contains("datasets") || !c["datasets"].is_object()) return;
  for (auto it = c["datasets"].begin(); it != c["datasets"].end(); ++it) {
    if (!it.value().is_object()) continue;
    for (const char* key : kDatasetPathKeys) {
      if (!it.value().contains(key) || !it.value()[key].is_string()) continue;
      const std::optional<std::string> found = resolve_config_path(
          it.value()[key].get<std::string>(), config_dir, str_cat("datasets.", it.key(), ".", key), p);
      if (found) it.value()[key] = *found;
    }
  }
}

// ---- Reading ---------------------------------------------------------------------------

constexpr int kMaxConfigDepth = 64;  // the schema needs 6 (train.stages.N.scheduler.milestones)
constexpr uint64_t kMaxConfigBytes = 64u << 20;

void check_config_depth(const char* text, size_t n, const std::string& where) {
  const int depth = json_nesting_depth(text, n, kMaxConfigDepth);
  SR_CHECK(depth <= kMaxConfigDepth, where, " is nested more than ", kMaxConfigDepth,
           " levels deep ('[' / '{' inside each other); a config needs fewer than 10");
}

// ---- Documentation ---------------------------------------------------------------------------

void document(const Spec& spec, const std::string& path, std::ostringstream& os) {
  auto row = [&](const std::string& p, const Spec& s) {
    std::string def = s.required ? "**required**" : (s.def.is_null() ? "—" : "`" + s.def.dump() + "`");
    std::string type = kind_name(s.kind);
    if (!s.choices.empty()) {
      type = "";
      for (const auto& c : s.choices) type += (type.empty() ? "" : " \\| ") + c;
    }
    std::string range;
    auto num = [](double v) {
      std::ostringstream n;
      n << v;
      return n.str();
    };
    if (s.min) range += " ≥ " + num(*s.min);
    if (s.max) range += " ≤ " + num(*s.max);
    os << "| `" << p << "` | " << type << range << " | " << def << " | " << s.doc << " |\n";
  };
  if (spec.kind == Kind::object && !spec.fields.empty()) {
    for (const auto& [k, sub] : spec.fields) {
      const std::string p = join(path, k);
      row(p, sub);
      document(sub, p, os);
    }
  } else if (spec.kind == Kind::array && spec.item[0].kind == Kind::object) {
    document(spec.item[0], path + ".N", os);
  } else if ((spec.kind == Kind::dataset_map || spec.kind == Kind::object) && !spec.item.empty()) {
    document(spec.item[0], path + (spec.kind == Kind::dataset_map ? ".<train, val*, test*>" : ".<name>"), os);
  }
}

}  // namespace

json read_config_file(const std::string& path) {
  // A regular file only (a FIFO would block, a folder gives libstdc++'s "underflow error"),
  // and no deeper than kMaxConfigDepth before the parser (and dump()) recurse into it.
  const RegularFile file(path, "config");
  const std::vector<uint8_t> bytes = file.read_all(kMaxConfigBytes);
  const char* text = reinterpret_cast<const char*>(bytes.data());
  check_config_depth(text, bytes.size(), "config: '" + path + "'");
  try {
    json c = json::parse(text, text + bytes.size(), nullptr, true, /*ignore_comments=*/true);
    SR_CHECK(c.is_object(), "config: '", path, "' must hold a JSON object");
    c["__config_dir__"] = std::filesystem::absolute(path).parent_path().string();
    return c;
  } catch (const json::parse_error& e) {
    fail("config: '", path, "' is not valid JSON: ", e.what());
  } catch (const json::out_of_range& e) {
    fail("config: '", path, "' has a number out of range: ", e.what());
  }
}

void apply_override(json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  SR_CHECK(eq != std::string::npos && eq > 0, "--set: expected key.path=value, got '", assignment, "'");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  check_config_depth(text.data(), text.size(), "--set '" + key + "'");
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // not JSON: a plain string such as a path or a name
  } catch (const json::out_of_range&) {
    fail("--set '", assignment, "': the number '", text, "' is out of range (a double holds at most ~1.8e308)");
  }
  json* node = &config;
  std::string walked;
  std::stringstream ss(key);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  if (key.back() == '.') parts.push_back("");  // getline drops a trailing empty element: 'name.=x' is refused too
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    SR_CHECK(!p.empty(), "--set '", assignment, "': empty path element");
    walked = join(walked, p);
    const bool last = i + 1 == parts.size();
    if (node->is_array()) {
      SR_CHECK(p.find_first_not_of("0123456789") == std::string::npos, "--set '", assignment, "': '", walked,
               "' indexes a list and needs a number");
      const size_t idx = p.size() > 9 ? SIZE_MAX : std::stoul(p);  // more digits than any list has
      SR_CHECK(idx < node->size(), "--set '", assignment, "': index ", p, " out of range, '",
               walked.substr(0, walked.size() - p.size() - 1), "' has ", node->size(), " elements");
      node = &(*node)[idx];
    } else {
      if (node->is_null()) *node = json::object();
      SR_CHECK(node->is_object(), "--set '", assignment, "': '", walked, "' is inside a ", node->type_name(),
               ", not an object");
      node = &(*node)[p];
    }
    if (last) *node = value;
  }
}

json validate_config(const json& config, const std::vector<std::string>& earlier_problems) {
  json c = config;
  std::string dir;
  if (c.contains("__config_dir__")) {
    dir = c["__config_dir__"];
    c.erase("__config_dir__");
  }
  Problems p;
  p.list = earlier_problems;
  validate(c, schema(), "", p);
  // The default metrics crop `scale` pixels from each border, as BasicSR's option files set
  // crop_border (x2: 2, x3: 3, x4: 4), so default validation numbers compare with published ones.
  const bool default_metrics = !config.contains("val") || !config["val"].is_object() ||
                               !config["val"].contains("metrics") || config["val"]["metrics"].is_null();
  if (default_metrics && c.contains("scale") && c["scale"].is_number_integer() && c.contains("val") &&
      c["val"].is_object() && c["val"].contains("metrics") && c["val"]["metrics"].is_object())
    for (auto& [name, metric] : c["val"]["metrics"].items()) metric["crop_border"] = c["scale"];
  drop_empty_dataset_paths(c);
  check_metrics(c, dir, p);
  check_semantics(c, p);
  guarded(p, [&] { check_stage_schedules(config, c, p); });
  guarded(p, [&] {
    for (std::string& problem : data_channel_problems(c)) p.list.push_back(std::move(problem));
  });
  resolve_dataset_paths(c, dir, p);
  if (!p.list.empty()) p.raise();
  return c;
}

void check_config_keys(const json& config) {
  static const Spec partial = without_required(schema());
  json c = config;
  c.erase("__config_dir__");
  Problems p;
  validate(c, partial, "", p);
  if (!p.list.empty()) p.raise();
}

json load_config(const std::string& path, const std::vector<std::string>& overrides) {
  json c = read_config_file(path);
  for (const auto& o : overrides) apply_override(c, o);
  return validate_config(c);
}

void prepare_config_for_use(json& c, ConfigUse use) {
  SR_CHECK(use != ConfigUse::degradation, "config: a config read for its degradation keys is checked with "
           "check_config_keys, not validated as a training config");
  if (use == ConfigUse::train || !c.is_object()) return;
  // The schema requires a train section; a placeholder stage lets everything else (metric
  // defaults, dataset paths, network_g's scale) go through the one validation.
  const json placeholder = {{"stages", json::array({{{"name", "placeholder"}, {"type", "sr"}, {"total_iter", 1},
                                                     {"pixel_opt", {{"type", "L1Loss"}}}}})}};
  if (use == ConfigUse::network) {
    c["train"] = placeholder;
    c["datasets"] = json::object();
    c.erase("val");  // its metrics' model files (NIQE, LPIPS) are not needed to build a network
    // A config that gives only network_g (with its own factor) means that factor, not the
    // top-level default of 4: the validator then checks the two agree where both are given.
    if (!c.contains("scale") && c.contains("network_g") && c["network_g"].is_object())
      for (const char* key : {"scale", "upscale"})
        if (c["network_g"].contains(key) && c["network_g"][key].is_number_integer()) c["scale"] = c["network_g"][key];
    return;
  }
  if (!c.contains("train")) c["train"] = placeholder;
  if (c.contains("datasets") && c["datasets"].is_object()) c["datasets"].erase("train");
}

std::string config_reference_markdown() {
  std::ostringstream os;
  os << "# Configuration reference\n\n"
        "srengine reads one JSON file (comments allowed) whose sections mirror BasicSR's options.\n"
        "Every key below is checked: unknown keys, wrong types and impossible values stop the run\n"
        "with a message naming the key (and, for a misspelt key, the nearest valid one).\n"
        "Any key can be overridden from the command line with `--set key.path=value` (repeatable;\n"
        "list elements by index, e.g. `--set train.stages.0.total_iter=100`; the value is parsed as\n"
        "JSON when it parses, else taken as a string).\n\n"
        "This file is generated from the schema in `train/config.cpp` (`srengine config --doc`);\n"
        "a test keeps the two identical.\n\n"
        "| key | type | default | meaning |\n|---|---|---|---|\n";
  document(schema(), "", os);
  os << "\n`network_g` / `network_d` take BasicSR's constructor arguments; the keys are checked\n"
        "by the network factory (see docs/NETWORKS.md).\n";
  return os.str();
}

std::vector<std::string> stage_schedule_notes(const json& c) {
  std::vector<std::string> notes;
  const json& stages = c.at("train").at("stages");
  for (size_t i = 0; i < stages.size(); ++i) {
    const json& stage = stages[i];
    const std::string base = str_cat("train.stages.", i, ".");
    const int64_t total = stage.at("total_iter");
    const json& s = stage.at("scheduler");
    // A milestone at total_iter (as Real-ESRGAN's files have) is harmless; one after it, too,
    // but it reads as a decay the run will have.
    if (s.at("type") == "MultiStepLR") {
      for (const char* key : {"milestones", "restarts"}) {
        std::string beyond;
        for (const json& m : s.at(key))
          if (m.get<int64_t>() > total) beyond += (beyond.empty() ? "" : ", ") + m.dump();
        if (!beyond.empty())
          notes.push_back(str_cat("'", base, "scheduler.", key, "' has ", beyond, " after '", base, "total_iter' ", total,
                                  ": the stage ends first, so ", key == std::string("milestones") ? "that decay" :
                                  "that restart", " never takes effect"));
      }
    }
    const int64_t warmup = stage.at("warmup_iter");
    if (warmup > 0 && warmup >= total)
      notes.push_back(str_cat("'", base, "warmup_iter' is ", warmup, ", not below '", base, "total_iter' ", total,
                              ": the linear warm-up lasts the whole stage, so the LR ",
                              warmup == total ? "reaches its scheduled value only at the last iteration"
                                              : "never reaches its scheduled value"));
  }
  return notes;
}

}  // namespace sr::train

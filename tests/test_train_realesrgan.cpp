// Real-ESRGAN training (RealESRGANDataset batches, the training-pair pool, the realesrnet /
// realesrgan stage types, their configs): batches are degraded crops of the right images at
// one patch position per batch, reproducible whatever the worker count and from any
// position; the pool behaves as BasicSR's _dequeue_and_enqueue and is restored exactly on
// resume; the realesrgan step matches PyTorch (tests/fixtures/train/realesrgan_steps.safetensors,
// tools/make_realesrgan_step_fixture.py); bad options are errors naming the key.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/degrade/usm_sharp.h"
#include "data/image_io.h"
#include "data/imresize.h"
#include "data/loader.h"
#include "engine/host_round_trips.h"
#include "engine/safetensors.h"
#include "nets/factory.h"
#include "support/data_support.h"
#include "support/net_fixtures.h"
#include "support/train_support.h"
#include "train/checkpoint.h"
#include "train/comm.h"
#include "train/config.h"
#include "train/pair_pool.h"
#include "train/realesrgan_stage.h"
#include "train/stage_step.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kRoot = SRENGINE_SOURCE_DIR;

data::DataConfig synth_config(uint64_t seed = 5, int workers = 0) {
  data::DataConfig c;
  c.type = data::DatasetType::realesrgan;
  c.dataroot_gt = kRoot + "/datasets/train_photos";
  c.scale = 4;
  c.gt_size = 32;
  c.crop_pad_size = 128;
  c.use_hflip = true;
  c.use_rot = false;
  c.batch_size_per_gpu = 3;
  c.num_worker_per_gpu = workers;
  c.seed = seed;
  return c;
}

std::vector<float> values(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  return std::vector<float>(v.begin(), v.end());
}

// The patch of `p` (3 x side x side) at (top, left), as a flat vector.
std::vector<float> patch(const data::degrade::Planes& p, int top, int left, int side) {
  std::vector<float> out;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) out.push_back(p.at(c, top + y, left + x));
  return out;
}

std::vector<float> sample_of(const std::vector<float>& batch, int i, int side) {
  const size_t n = (size_t)3 * side * side;
  return std::vector<float>(batch.begin() + i * n, batch.begin() + (i + 1) * n);
}

}  // namespace

TEST_CASE("realesrgan/loader_batches_are_degraded_crops_at_one_position") {
  const data::DataConfig cfg = synth_config();
  data::Loader loader(cfg);
  const data::Batch b = loader.next();
  REQUIRE(b.gt.shape() == Shape({3, 3, 32, 32}));
  REQUIRE(b.lq.shape() == Shape({3, 3, 8, 8}));
  const std::vector<float> gt = values(b.gt), lq = values(b.lq);
  for (float v : lq) REQUIRE(v == (float)(std::nearbyint(v * 255.0) / 255.0));  // k / 255, as the last step makes it
  // The GT patches are the USM-sharpened crops of the batch's images, cut at one position
  // of the LQ grid (times the scale) for the whole batch: exactly one position fits all.
  const data::Dataset ds(cfg);
  std::vector<data::degrade::Planes> sharp, plain;
  for (int i = 0; i < 3; ++i) {
    const data::degrade::GtSample s = ds.load_realesrgan_sample((size_t)b.indices[i], 0, i);
    plain.push_back(s.gt);
    sharp.push_back(data::degrade::usm_sharp(s.gt));
  }
  std::vector<std::pair<int, int>> fits;
  for (int top = 0; top <= 32 - 8; ++top)
    for (int left = 0; left <= 32 - 8; ++left) {
      bool all = true;
      for (int i = 0; i < 3 && all; ++i) all = patch(sharp[i], top * 4, left * 4, 32) == sample_of(gt, i, 32);
      if (all) fits.push_back({top, left});
    }
  REQUIRE(fits.size() == 1);
  // RealESRGANModel: the LQ is degraded from the sharpened crop as before (identical), the
  // GT stays plain at the same position.
  data::DataConfig esrgan = cfg;
  esrgan.usm_gt = false;
  data::Loader l2(esrgan);
  const data::Batch b2 = l2.next();
  CHECK(values(b2.lq) == lq);
  for (int i = 0; i < 3; ++i) CHECK(patch(plain[i], fits[0].first * 4, fits[0].second * 4, 32) == sample_of(values(b2.gt), i, 32));
  // The check of the check: degrading the plain crop gives another LQ.
  data::DataConfig no_usm = cfg;
  no_usm.usm_gt = no_usm.degrade_from_usm = false;
  data::Loader l3(no_usm);
  CHECK(values(l3.next().lq) != lq);
}

TEST_CASE("realesrgan/loader_is_reproducible_across_workers_and_positions") {
  data::Loader serial(synth_config(5, 0)), threaded(synth_config(5, 3));
  std::vector<std::vector<float>> lq, gt;
  for (int i = 0; i < 4; ++i) {
    const data::Batch a = serial.next(), b = threaded.next();
    lq.push_back(values(a.lq));
    gt.push_back(values(a.gt));
    CHECK(values(b.lq) == lq.back());
    CHECK(values(b.gt) == gt.back());
  }
  CHECK(lq[0] != lq[1]);  // batches differ
  data::LoaderOptions from2;
  from2.start = {0, 2};
  data::Loader resumed(synth_config(5, 2), from2);
  CHECK(values(resumed.next().lq) == lq[2]);
  data::Loader other_seed(synth_config(6, 0));
  CHECK(values(other_seed.next().lq) != lq[0]);
  // Rank 1 of 2: its samples are the crops and kernels of global positions 1, 3, 5 (as one
  // rank with twice the batch would draw them), cut at its own batch's patch position.
  data::LoaderOptions rank1;
  rank1.rank = 1;
  rank1.world_size = 2;
  const data::DataConfig cfg = synth_config(5, 0);
  data::Loader second(cfg, rank1);
  const data::Batch b = second.next();
  const data::Dataset ds(cfg);
  const std::vector<float> g = values(b.gt);
  std::vector<data::degrade::Planes> sharp;
  for (int i = 0; i < 3; ++i)
    sharp.push_back(data::degrade::usm_sharp(ds.load_realesrgan_sample((size_t)b.indices[i], 0, 1 + 2 * i).gt));
  int fits = 0;
  for (int top = 0; top <= 24; ++top)
    for (int left = 0; left <= 24; ++left) {
      bool all = true;
      for (int i = 0; i < 3 && all; ++i) all = patch(sharp[i], top * 4, left * 4, 32) == sample_of(g, i, 32);
      fits += all;
    }
  CHECK(fits == 1);
}

TEST_CASE("realesrgan/pair_pool_dequeues_and_enqueues_as_basicsr") {
  // Pairs tagged by id: LQ holds id, GT id + 0.5, so pairing and identity are visible.
  constexpr int64_t B = 3, Q = 9, iters = 2000;
  PairPool pool(Q, B, 11, 0, 0);
  std::multiset<float> held;
  std::map<float, int64_t> entered;
  double wait_sum = 0;
  int64_t waits = 0;
  for (int64_t it = 1; it <= iters; ++it) {
    Tensor lq = Tensor::empty({B, 3, 2, 2}), gt = Tensor::empty({B, 3, 4, 4});
    for (int64_t i = 0; i < B; ++i) {
      const float id = (float)(it * B + i);
      for (int64_t k = 0; k < 12; ++k) lq.data<float>()[i * 12 + k] = id;
      for (int64_t k = 0; k < 48; ++k) gt.data<float>()[i * 48 + k] = id + 0.5f;
    }
    pool.exchange(lq, gt, it);
    for (int64_t i = 0; i < B; ++i) {
      const float id = lq.data<float>()[i * 12];
      for (int64_t k = 0; k < 12; ++k) REQUIRE(lq.data<float>()[i * 12 + k] == id);
      for (int64_t k = 0; k < 48; ++k) REQUIRE(gt.data<float>()[i * 48 + k] == id + 0.5f);  // still paired
      if (it <= Q / B) {
        REQUIRE(id == (float)(it * B + i));  // fill phase: the fresh batch itself
        held.insert(id);
        entered[id] = it;
      } else {
        REQUIRE(id < (float)(it * B));  // never a fresh pair
        REQUIRE(held.count(id) == 1);   // one that the pool held
        held.erase(held.find(id));
        if (entered[id] > Q / B) wait_sum += (double)(it - entered[id]), ++waits;
      }
    }
    if (it > Q / B)
      for (int64_t i = 0; i < B; ++i) held.insert((float)(it * B + i)), entered[(float)(it * B + i)] = it;
    REQUIRE((int64_t)held.size() == std::min(Q, it * B));
  }
  // Each held pair leaves with probability B / Q per iteration: waits are geometric with
  // mean Q / B = 3 (Philox draws: the same value on every run).
  INFO("mean wait " << wait_sum / waits << " over " << waits);
  CHECK(std::fabs(wait_sum / waits - 3.0) < 0.15);
  test::require_error([] { PairPool(10, 3, 0, 0, 0); }, {"'queue_size' 10", "batch size 3"});
}

TEST_CASE("realesrgan/pair_pool_state_restores_the_continuation") {
  constexpr int64_t B = 2, Q = 6;
  auto batch = [](int64_t it) {
    Tensor lq = Tensor::empty({B, 3, 2, 2}), gt = Tensor::empty({B, 3, 4, 4});
    for (int64_t k = 0; k < lq.numel(); ++k) lq.data<float>()[k] = (float)(it * 1000 + k);
    for (int64_t k = 0; k < gt.numel(); ++k) gt.data<float>()[k] = (float)(it * 1000 + k) + 0.25f;
    return std::pair<Tensor, Tensor>{lq, gt};
  };
  PairPool a(Q, B, 3, 1, 0);
  for (int64_t it = 1; it <= 7; ++it) {
    auto [lq, gt] = batch(it);
    a.exchange(lq, gt, it);
  }
  const NamedTensors saved = a.state();
  PairPool b(Q, B, 3, 1, 0), fresh(Q, B, 3, 1, 0);
  b.load_state(saved[0].second, saved[1].second);
  bool fresh_differs = false;
  for (int64_t it = 8; it <= 15; ++it) {
    auto [la, ga] = batch(it);
    auto [lb, gb] = batch(it);
    auto [lf, gf] = batch(it);
    a.exchange(la, ga, it);
    b.exchange(lb, gb, it);
    fresh.exchange(lf, gf, it);
    CHECK(values(la) == values(lb));
    CHECK(values(ga) == values(gb));
    fresh_differs |= values(lf) != values(la);  // a pool that refilled instead would not continue the same way
  }
  CHECK(fresh_differs);
  test::require_error([&] { PairPool(4, B, 3, 1, 0).load_state(saved[0].second, saved[1].second); },
                      {"does not fit queue_size 4"});
}

namespace {

std::map<std::string, Tensor> tensors_with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = t;
  return out;
}

Tensor tensor_named(const SafetensorsFile& f, const std::string& name) {
  for (const auto& [k, t] : f.tensors)
    if (k == name) return t;
  FAIL("no tensor " << name);
  return {};
}

// The fixture's batch: make_fixtures.hashed_input mapped to [0, 1), GT flipped left-right.
std::pair<Tensor, Tensor> fixture_batch() {
  auto unit = [](const Shape& s, bool flip) {
    std::vector<double> h = test::fixture_hashed_input(s, DType::f64).to_vector();
    const int64_t w = s[3];
    std::vector<double> out(h.size());
    for (size_t row = 0; row < h.size() / w; ++row)
      for (int64_t x = 0; x < w; ++x) out[row * w + x] = (h[row * w + (flip ? w - 1 - x : x)] + 1) / 2;
    return Tensor::from_vector(out, s, DType::f32);
  };
  return {unit(Shape({2, 3, 16, 16}), false), unit(Shape({2, 3, 64, 64}), true)};
}

struct RealesrganTrained {
  std::unique_ptr<Module> g, d;
};

RealesrganTrained train_realesrgan_steps(const SafetensorsFile& f, const std::string& path, bool l1_gt_usm, bool gan_gt_usm) {
  const json s = json::parse(f.metadata.at("stage"));
  StageConfig c = test::gan_step_fixture_stage(s, "realesrgan");
  c.l1_gt_usm = l1_gt_usm;
  c.gan_gt_usm = gan_gt_usm;
  RealesrganTrained t;
  t.g = build_network(json::parse(f.metadata.at("net_g")));
  t.d = build_network(json::parse(f.metadata.at("net_d")));
  t.g->load_state_dict(tensors_with_prefix(f, "init.g."), true, path);
  t.d->load_state_dict(tensors_with_prefix(f, "init.d."), true, path);
  auto comm = make_communicator("auto", Device::cpu());
  StageStep step(c, *t.g, nullptr, t.d.get(), 0.0, *comm, 1.0);
  const auto [lq, gt] = fixture_batch();
  for (int i = 1; i <= std::stoi(f.metadata.at("iters")); ++i) REQUIRE_FALSE(step.run(lq, gt, i).skipped());
  return t;
}

double worst_difference(const Module& net, const SafetensorsFile& f, const std::string& prefix, std::string& where) {
  const auto ref = tensors_with_prefix(f, prefix);
  double worst = 0;
  for (const auto& [k, t] : net.state_dict()) {
    REQUIRE(ref.count(k));
    const auto a = t.to_vector(), b = ref.at(k).to_vector();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i)
      if (std::fabs(a[i] - b[i]) > worst) worst = std::fabs(a[i] - b[i]), where = prefix + k;
  }
  return worst;
}

}  // namespace

TEST_CASE("realesrgan/steps_match_pytorch") {
  const std::string path = kRoot + "/tests/fixtures/train/realesrgan_steps.safetensors";
  SafetensorsReadOptions as_f32;
  as_f32.dtype = DType::f32;
  const SafetensorsFile f = read_safetensors(path, as_f32);
  // The sharpened target itself (data/degrade/usm_sharp.cpp against the script's torch USM).
  const auto [lq, gt] = fixture_batch();
  const std::vector<double> ours = usm_sharp_batch(gt).to_vector(), ref = tensor_named(f, "gt_usm").to_vector();
  REQUIRE(ours.size() == ref.size());
  double usm_worst = 0, usm_change = 0;
  const std::vector<double> plain = gt.to_vector();
  for (size_t i = 0; i < ours.size(); ++i) {
    usm_worst = std::max(usm_worst, std::fabs(ours[i] - ref[i]));
    usm_change = std::max(usm_change, std::fabs(ref[i] - plain[i]));
  }
  CHECK(usm_worst < 1e-5);
  CHECK(usm_change > 0.05);
  // Three iterations of each switch setting; three Adam steps of lr 1e-3 move weights by up
  // to 3e-3, float32 order differences stay far below the tolerance.
  constexpr double kTol = 2e-5;
  std::map<std::string, RealesrganTrained> runs;
  for (const auto& [name, l1u, ganu] : {std::tuple{"a", true, false}, std::tuple{"b", false, true}}) {
    runs[name] = train_realesrgan_steps(f, path, l1u, ganu);
    for (const char* which : {"g", "d"}) {
      std::string where;
      const Module& net = *(std::string(which) == "g" ? runs[name].g : runs[name].d);
      const double w = worst_difference(net, f, std::string("final_") + name + "." + which + ".", where);
      INFO(name << "." << which << ": worst |srengine - pytorch| " << w << " at " << where);
      CHECK(w <= kTol);
    }
  }
  // The check of the check: the two settings end far apart (each switch matters).
  std::string where;
  CHECK(worst_difference(*runs["a"].g, f, "final_b.g.", where) > 10 * kTol);
  CHECK(worst_difference(*runs["b"].d, f, "final_a.d.", where) > 10 * kTol);
}

namespace {

std::vector<std::string> synth_overrides() {
  return {"datasets.train.type=RealESRGANDataset", "datasets.train.crop_pad_size=128",
          "datasets.train.use_rot=false",         "queue_size=4",
          "train.stages.0.type=realesrnet",        "train.stages.1.type=realesrgan",
          "train.stages.1.gan_opt.gan_type=vanilla"};
}

}  // namespace

TEST_CASE("realesrgan/two_stage_run_resumes_exactly_with_its_pool") {
  // realesrnet then realesrgan on synthesised pairs, queue 4 with batches of 2: the pool is
  // full from iteration 3 of each stage. Resumed from iteration 4 of the GAN stage, the final
  // state (weights, optimizers, the pool) equals the uninterrupted run's bit for bit.
  const json c = test::tiny_train_config("realesrgan_resume", synth_overrides());
  REQUIRE(run_training(c, {}) == 0);
  const std::string d = test::train_exp_dir("realesrgan_resume");
  CHECK(fs::exists(d + "/models/net_g_gan_final.safetensors"));
  const std::string final_state = state_path(d, "gan", 6);
  const SafetensorsFile uninterrupted = read_safetensors(final_state);
  bool has_pool = false;
  for (const auto& [k, t] : uninterrupted.tensors)
    if (k == "pair_pool.gt") has_pool = t.shape() == Shape({1, 4, 3, 32, 32});
  CHECK(has_pool);
  fs::remove(final_state);
  REQUIRE(find_latest_state(d).value() == state_path(d, "gan", 4));
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  test::expect_same_tensors(uninterrupted, read_safetensors(final_state));
  // The check of the check: a state without its pool resumes with a refilled pool and ends
  // elsewhere.
  TrainingState s = load_training_state(state_path(d, "gan", 4));
  std::erase_if(s.tensors, [](const auto& kv) { return kv.first.rfind("pair_pool.", 0) == 0; });
  save_training_state(d, s);
  fs::remove(final_state);
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  const SafetensorsFile refilled = read_safetensors(final_state);
  bool differs = false;
  for (size_t i = 0; i < refilled.tensors.size() && i < uninterrupted.tensors.size(); ++i)
    if (refilled.tensors[i].first.rfind("net_g.", 0) == 0)
      differs |= refilled.tensors[i].second.to_vector() != uninterrupted.tensors[i].second.to_vector();
  CHECK(differs);
  bool warned = false;
  std::ifstream log(d + "/train.log");
  for (std::string line; std::getline(log, line);) warned |= line.find("fills again") != std::string::npos;
  CHECK(warned);
}

TEST_CASE("realesrgan/bad_options_are_errors_naming_the_key") {
  auto error_with = [](std::vector<std::string> extra, const std::vector<std::string>& parts) {
    std::vector<std::string> o = synth_overrides();
    o.insert(o.end(), extra.begin(), extra.end());
    return test::require_error([&] { test::tiny_train_config("realesrgan_bad", o); }, parts);
  };
  // Both in one run: the pool's divisibility and a degradation value.
  const std::string e = error_with({"queue_size=5", "datasets.train.kernel_prob=[0.5,0.2,0.1,0.1,0.05,0.01]"},
                                   {"'queue_size' is 5, not a multiple of 'datasets.train.batch_size_per_gpu' 2"});
  CHECK_THAT(e, Catch::Contains("'datasets.train.kernel_prob' sums to 0.96, must sum to 1"));
  error_with({"datasets.train.kernel_list2=[]"}, {"'datasets.train.kernel_list2' is empty"});
  error_with({"noise_range=[30,1]"}, {"'noise_range' is [30, 1]: reversed"});
  error_with({"resize_prob2=[0.5,0.5,0.5]"}, {"'resize_prob2' sums to 1.5"});
  error_with({"datasets.train.crop_pad_size=126"}, {"'datasets.train.crop_pad_size' is 126, not a multiple of scale 4"});
  error_with({"train.stages.0.type=sr"}, {"'train.stages.0.type' is 'sr', but datasets.train is a RealESRGANDataset"});
}

TEST_CASE("realesrgan/configs_pass_config_check") {
  test::TempDir tmp;
  const std::string meta = tmp.file("pairs.txt");
  std::ofstream(meta) << "gt/mate_aqua.png, lq/mate_aqua.png\n";
  const std::string photos = tmp.subdir("pairs");
  // One photo (504x312) and its x1/4 LQ: the training set's sizes are checked from the headers.
  const std::string photo = kRoot + "/datasets/train_photos/mate_aqua.png";
  fs::create_directories(photos + "/gt");
  fs::create_directories(photos + "/lq");
  fs::copy_file(photo, photos + "/gt/mate_aqua.png");
  const data::Image lq = data::imresize(data::read_image(photo), 0.25);
  data::write_image(photos + "/lq/mate_aqua.png", lq);
  // The published weights the recipes start from are not in the repository: --check also
  // loads pretrained weights (as train does before its first iteration), so they are unset.
  const std::string no_pretrained = " --set path.pretrain_network_g=";
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"realesrnet_x4plus.json", no_pretrained},
      {"realesrgan_x4plus.json", no_pretrained},
      {"realesrgan_x2plus.json", no_pretrained},
      {"realesrnet_x4plus_quickstart.json", ""},
      {"finetune_realesrgan_x4plus.json", " --set datasets.train.dataroot_gt=" + photos +
                                               " --set datasets.train.dataroot_lq=" + photos +
                                               " --set datasets.train.meta_info=" + meta + no_pretrained +
                                               " --set path.pretrain_network_d="}};
  for (const auto& [name, sets] : configs) {
    const std::string cmd = test::srengine_exe() + " config --check " + kRoot + "/configs/" + name + sets + " > " +
                            tmp.file("out.txt") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    INFO(name << ": " << test::read_text(tmp.file("out.txt")));
    CHECK(rc == 0);
  }
  // The published values as they are in the files.
  const Config x4 = parse_config(load_config(kRoot + "/configs/realesrgan_x4plus.json", {}));
  REQUIRE(x4.train.stages.size() == 2);
  CHECK(x4.train.stages[0].type == "realesrnet");
  CHECK(x4.train.stages[0].optim_g.lr == 2e-4);
  CHECK(x4.train.stages[1].type == "realesrgan");
  CHECK(x4.train.stages[1].gan_opt->gan_type == "vanilla");
  CHECK(x4.train.stages[1].gan_opt->loss_weight == 0.1);
  CHECK((x4.train.stages[1].l1_gt_usm && x4.train.stages[1].percep_gt_usm && !x4.train.stages[1].gan_gt_usm));
  CHECK(x4.queue_size == 180);
  const data::DataConfig& d = x4.find_dataset("train")->data;
  CHECK(d.type == data::DatasetType::realesrgan);
  CHECK(d.batch_size_per_gpu == 12);
  CHECK(d.gt_size == 256);
  CHECK(d.degradation.order2.resize_range == data::degrade::Range{0.3, 1.2});
  CHECK(d.degradation.kernel2.blur_sigma == data::degrade::Range{0.2, 1.5});
  CHECK(parse_config(load_config(kRoot + "/configs/realesrgan_x2plus.json", {})).scale == 2);
}

TEST_CASE("realesrgan/quickstart_config_trains") {
  // The quickstart as it is, shortened to a few iterations.
  const fs::path root = fs::path(SRENGINE_BINARY_DIR) / "test_tmp" / "train";
  fs::remove_all(root / "rq");
  const json c = load_config(kRoot + "/configs/realesrnet_x4plus_quickstart.json",
                             {"train.stages.0.total_iter=10", "train.stages.0.scheduler.periods=[10]", "device=cpu",
                              "name=rq", "path.experiments_root=" + root.string(), "val.val_freq=10",
                              "datasets.val.meta_info_file=" + kRoot + "/tests/fixtures/val_one.txt"});
  REQUIRE(run_training(c, {}) == 0);
  CHECK(fs::exists(root / "rq" / "models" / "net_g_realesrnet_final.safetensors"));
}

#ifdef SRENGINE_WITH_SIMT
TEST_CASE("realesrgan/device_degradation_matches_the_cpu_loader") {
  // datasets.train.degrade_on device: the loader hands over plain crops and the drawn
  // parameters, the simt device sharpens, degrades and cuts the patch; the pair equals the
  // CPU loader's (the GT bitwise: USM and the cut are exact; the LQ within one level of
  // k/255 except where the blur's float sums moved a rounding: tests/test_degrade_device.cpp).
  for (const bool esrgan : {false, true}) {
    data::DataConfig cpu = synth_config(11);
    cpu.usm_gt = !esrgan;  // realesrnet: sharpened GT; realesrgan: plain GT, LQ from the sharpened crop
    data::DataConfig dev = cpu;
    dev.degrade_on_device = true;
    data::Loader lc(cpu), ld(dev);
    for (int k = 0; k < 2; ++k) {
      const data::Batch bc = lc.next(), bd = ld.next();
      REQUIRE(!bc.degradation);
      REQUIRE(bd.degradation);
      REQUIRE(!bd.lq.defined());
      REQUIRE(bd.gt.shape() == Shape({3, 3, 128, 128}));
      CHECK(bd.indices == bc.indices);
      Tensor lq, gt;
      const uint64_t reads = host_round_trips();
      batch_on_device(bd, Device::simt(), &lq, &gt);
      CHECK(host_round_trips() == reads);  // the degradation reads nothing back
      REQUIRE(lq.device().is_simt());
      INFO((esrgan ? "realesrgan" : "realesrnet") << " batch " << k);
      CHECK(values(gt) == values(bc.gt));
      if (esrgan && k == 0) {
        // The realesrgan step's sharpened patch (usm_sharp_batch) on the device: the CPU's
        // bits, nothing read back.
        const Tensor patch = gt.narrow(3, 2, 28).contiguous();  // not square
        const uint64_t before = host_round_trips();
        const Tensor sharp = usm_sharp_batch(patch);
        CHECK(host_round_trips() == before);
        REQUIRE(sharp.device().is_simt());
        CHECK(values(sharp) == values(usm_sharp_batch(patch.to(Device::cpu()))));
        CHECK(values(sharp) != values(patch));
      }
      const std::vector<float> a = values(lq), b = values(bc.lq);
      REQUIRE(a.size() == b.size());
      size_t beyond = 0;
      for (size_t i = 0; i < a.size(); ++i) beyond += !(std::fabs(a[i] - b[i]) <= 1.0 / 255 + 1e-6);
      INFO(beyond << " of " << a.size() << " LQ values differ by more than one level");
      CHECK(beyond <= a.size() / 5);  // tests/test_degrade_device.cpp's end-to-end bound
    }
  }
  // The check of the check: another patch position is caught by the GT comparison.
  data::DataConfig dev = synth_config(11);
  dev.degrade_on_device = true;
  data::Loader ld(dev), lc(synth_config(11));
  data::Batch bd = ld.next();
  auto moved = std::make_shared<data::degrade::DeviceDegradation>(*bd.degradation);
  moved->top = moved->top == 0 ? 1 : 0;
  bd.degradation = moved;
  Tensor lq, gt;
  batch_on_device(bd, Device::simt(), &lq, &gt);
  CHECK(values(gt) != values(lc.next().gt));
}

TEST_CASE("realesrgan/simt_training_degrades_on_the_device") {
  // Both Real-ESRGAN stage types on the simt device with degrade_on device (the pool mixing
  // device pairs): the runs finish, every logged loss is finite, the log says where the
  // degradation ran. Tiny: three iterations per stage, no validation (a whole photo through
  // the generator on simt would be most of the run's time).
  std::vector<std::string> o = synth_overrides();
  o.insert(o.end(), {"device=simt", "datasets.train.degrade_on=device", "datasets.train.num_worker_per_gpu=0",
                     "train.stages.0.total_iter=3", "train.stages.1.total_iter=3", "logger.print_freq=1",
                     "logger.save_checkpoint_freq=100"});
  json c = test::tiny_train_config("realesrgan_simt_device", o);
  c["datasets"].erase("val");
  REQUIRE(run_training(c, {}) == 0);
  int train_events = 0;
  for (const json& e : test::train_events("realesrgan_simt_device")) {
    if (e.value("event", "") != "train") continue;
    ++train_events;
    for (auto it = e.begin(); it != e.end(); ++it)
      if (it.key().rfind("l_", 0) == 0) {
        INFO(e.dump());
        CHECK(std::isfinite(it.value().get<double>()));
      }
  }
  CHECK(train_events == 6);
  bool logged = false;
  std::ifstream log(test::train_exp_dir("realesrgan_simt_device") + "/train.log");
  for (std::string line; std::getline(log, line);) logged |= line.find("degradation runs on simt") != std::string::npos;
  CHECK(logged);
  // degrade_on device on the CPU is an error naming the key.
  std::vector<std::string> on_cpu = synth_overrides();
  on_cpu.push_back("datasets.train.degrade_on=device");
  test::require_error([&] { test::tiny_train_config("realesrgan_cpu_device", on_cpu); },
                      {"'datasets.train.degrade_on' is device, but training runs on the CPU"});
}
#endif

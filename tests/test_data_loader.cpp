// The threaded loader: batches independent of the worker count, epoch permutations,
// rank sharding (n ranks x batch B == 1 rank x batch nB), exact resume, errors that
// reach the consumer with the file name, skip_bad_images, and clean shutdown.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "data/image_io.h"
#include "data/loader.h"
#include "engine/cuda_runtime.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;

namespace {

// n paired images (GT 32x32 = 4 x LQ 8x8), each with different random content.
DataConfig make_dataset(const test::TempDir& dir, int n, uint64_t seed = 1) {
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    const std::string name = "img" + std::to_string(100 + i) + ".png";
    const Image l = test::random_image(rng, 8, 8, 3);
    Image g(32, 32, 3);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        for (int c = 0; c < 3; ++c) g.at(y, x, c) = l.at(y / 4, x / 4, c);
    write_image(lq + "/" + name, l);
    write_image(gt + "/" + name, g);
  }
  DataConfig cfg;
  cfg.dataroot_gt = gt;
  cfg.dataroot_lq = lq;
  cfg.scale = 4;
  cfg.gt_size = 16;
  cfg.batch_size_per_gpu = 3;
  cfg.num_worker_per_gpu = 2;
  cfg.seed = 77;
  return cfg;
}

std::vector<double> sample_values(const Tensor& t, int64_t i) {
  const std::vector<double> all = t.to_vector();
  const int64_t per = t.numel() / t.size(0);
  return std::vector<double>(all.begin() + i * per, all.begin() + (i + 1) * per);
}

}  // namespace

TEST_CASE("data/loader_same_batches_for_any_worker_count") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 10);
  std::vector<std::vector<double>> reference;
  std::vector<LoaderPosition> positions;
  for (int workers : {0, 1, 3}) {
    cfg.num_worker_per_gpu = workers;
    Loader loader(cfg);
    CHECK(loader.batches_per_epoch() == 3);  // 10 / 3, incomplete batch dropped
    for (int b = 0; b < 8; ++b) {  // crosses two epoch boundaries
      const LoaderPosition before = loader.position();
      const Batch batch = loader.next();
      CHECK(batch.position == before);
      CHECK(batch.gt.shape() == Shape({3, 3, 16, 16}));
      CHECK(batch.lq.shape() == Shape({3, 3, 4, 4}));
      std::vector<double> v = batch.gt.to_vector();
      const std::vector<double> l = batch.lq.to_vector();
      v.insert(v.end(), l.begin(), l.end());
      if (workers == 0) {
        reference.push_back(v);
        positions.push_back(batch.position);
      } else {
        CHECK(v == reference[b]);
        CHECK(batch.position == positions[b]);
      }
    }
  }
  CHECK(positions[7] == LoaderPosition{2, 1});
  CHECK(reference[0] != reference[3]);  // epochs are reshuffled and re-augmented
}

TEST_CASE("data/loader_epoch_permutation_and_sharding") {
  const std::vector<int64_t> e0 = epoch_indices(5, 0, 12, 1, 0, 1), e1 = epoch_indices(5, 1, 12, 1, 0, 1);
  std::vector<int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 12; ++i) CHECK(sorted[i] == i);
  CHECK(e0 != e1);
  // Enlarge ratio 3: every index exactly 3 times per epoch.
  const std::vector<int64_t> big = epoch_indices(5, 0, 12, 3, 0, 1);
  for (int i = 0; i < 12; ++i) CHECK(std::count(big.begin(), big.end(), i) == 3);
  // Three ranks: disjoint thirds whose union is one epoch, strided as EnlargedSampler.
  std::multiset<int64_t> all;
  for (int r = 0; r < 3; ++r) {
    const std::vector<int64_t> part = epoch_indices(5, 0, 12, 1, r, 3);
    CHECK(part.size() == 4);
    for (size_t k = 0; k < part.size(); ++k) CHECK(part[k] == e0[r + 3 * k]);
    all.insert(part.begin(), part.end());
  }
  CHECK(all.size() == 12);
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 12);
  // 10 images on 3 ranks: ceil(10/3) = 4 each, wrapping around (indices mod N).
  CHECK(epoch_indices(5, 0, 10, 1, 2, 3).size() == 4);
}

TEST_CASE("data/loader_two_ranks_equal_one_rank_with_double_batch") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 8);
  cfg.batch_size_per_gpu = 4;
  Loader one(cfg);
  cfg.batch_size_per_gpu = 2;
  LoaderOptions r0, r1;
  r0.world_size = r1.world_size = 2;
  r1.rank = 1;
  Loader a(cfg, r0), b(cfg, r1);
  for (int step = 0; step < 3; ++step) {
    const Batch full = one.next(), part0 = a.next(), part1 = b.next();
    // Global position j = 4 step + i lives on rank j % 2 as its local sample (j / 2) - 2 step.
    for (int i = 0; i < 4; ++i) {
      const Batch& part = i % 2 == 0 ? part0 : part1;
      CHECK(sample_values(full.gt, i) == sample_values(part.gt, i / 2));
      CHECK(sample_values(full.lq, i) == sample_values(part.lq, i / 2));
      CHECK(full.indices[i] == part.indices[i / 2]);
    }
  }
}

TEST_CASE("data/loader_resumes_exactly") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 10);
  LoaderPosition saved;
  std::vector<double> expected;
  {
    Loader loader(cfg);
    for (int b = 0; b < 5; ++b) loader.next();
    saved = loader.position();
    expected = loader.next().gt.to_vector();
  }
  CHECK(saved == LoaderPosition{1, 2});
  LoaderOptions opt;
  opt.start = saved;
  cfg.num_worker_per_gpu = 1;  // a different worker count must not matter
  Loader resumed(cfg, opt);
  CHECK(resumed.position() == saved);
  CHECK(resumed.next().gt.to_vector() == expected);
  opt.start = {0, 3};
  test::require_error([&] { Loader bad(cfg, opt); }, {"resume position", "3 batches"});
}

TEST_CASE("data/loader_worker_error_reaches_consumer") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 6);
  const std::string text = "not an image";
  test::write_bytes(cfg.dataroot_gt + "/img999.png", std::vector<uint8_t>(text.begin(), text.end()));
  test::write_bytes(cfg.dataroot_lq + "/img999.png", std::vector<uint8_t>(text.begin(), text.end()));
  cfg.num_worker_per_gpu = 3;
  cfg.batch_size_per_gpu = 1;  // every sample is used each epoch: exactly one failing batch per epoch
  Loader loader(cfg);
  int errors = 0, ok = 0;
  for (int b = 0; b < 2 * loader.batches_per_epoch(); ++b) {  // two epochs: the bad file is used
    try {
      loader.next();
      ++ok;
    } catch (const Error& e) {
      ++errors;
      const std::string m = e.what();
      CHECK(m.find("/img999.png: not a PNG, JPEG") != std::string::npos);  // LQ or GT, by path
      CHECK(m.find("not a PNG, JPEG") != std::string::npos);
      CHECK(m.find("epoch") != std::string::npos);
    }
  }
  CHECK(errors == 2);
  CHECK(ok == 12);  // the loader keeps going after a failed batch
  CHECK(loader.skipped_images() == 0);
}  // the destructor joins the workers: the test ending at all is the no-hang check

TEST_CASE("data/loader_skip_bad_images") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 6);
  test::write_bytes(cfg.dataroot_gt + "/img999.png", {});
  test::write_bytes(cfg.dataroot_lq + "/img999.png", {});
  cfg.skip_bad_images = true;
  cfg.batch_size_per_gpu = 1;
  std::vector<std::vector<double>> first;
  for (int workers : {0, 2}) {
    cfg.num_worker_per_gpu = workers;
    std::mutex mu;
    std::vector<std::string> warnings;
    LoaderOptions opt;
    opt.warn = [&](const std::string& m) {
      std::lock_guard<std::mutex> lk(mu);
      warnings.push_back(m);
    };
    auto loader = std::make_unique<Loader>(cfg, opt);
    for (int b = 0; b < 3 * loader->batches_per_epoch(); ++b) {
      const Batch batch = loader->next();
      for (int64_t idx : batch.indices) CHECK(idx != 6);  // img999 is index 6, always replaced
      if (workers == 0) first.push_back(batch.gt.to_vector());
      else CHECK(batch.gt.to_vector() == first[b]);
    }
    // Once per epoch; workers may already have prefetched into the fourth epoch.
    const int64_t skipped = loader->skipped_images();
    if (workers == 0) CHECK(skipped == 3);
    else CHECK((skipped >= 3 && skipped <= 4));
    loader.reset();  // joins the workers, so the warning list is final
    CHECK((int64_t)warnings.size() >= skipped);
    CHECK(warnings[0].find("img999.png") != std::string::npos);
  }
}

TEST_CASE("data/loader_shutdown_and_limits") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 6);
  cfg.num_worker_per_gpu = 4;
  cfg.prefetch_batches = 3;
  { Loader idle(cfg); }  // destroyed while workers fill the queue
  {
    Loader used(cfg);
    used.next();
  }
  cfg.batch_size_per_gpu = 7;
  test::require_error([&] { Loader l(cfg); }, {"6 images", "fewer than one batch of 7"});
  cfg.batch_size_per_gpu = 4;
  LoaderOptions opt;
  opt.rank = 2;
  opt.world_size = 2;
  test::require_error([&] { Loader l(cfg, opt); }, {"rank 2"});
}

// Pinned batches (what the trainer asks for on CUDA) hold the same values as ordinary
// ones; they are page-locked exactly when a CUDA device is present and fall back to
// ordinary host memory otherwise.
TEST_CASE("data/loader_pin_memory") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 7);
  Loader plain(cfg);
  LoaderOptions opt;
  opt.pin_memory_device = 0;
  Loader pinned(cfg, opt);
#ifdef SRENGINE_WITH_CUDA
  const bool expect_pinned = cuda::available();
#else
  const bool expect_pinned = false;
#endif
  for (int b = 0; b < 4; ++b) {
    const Batch a = plain.next(), p = pinned.next();
    CHECK_FALSE(a.gt.is_pinned());
    CHECK(p.gt.is_pinned() == expect_pinned);
    CHECK(p.lq.is_pinned() == expect_pinned);
    CHECK(p.gt.to_vector() == a.gt.to_vector());
    CHECK(p.lq.to_vector() == a.lq.to_vector());
  }
}

// A position saved under another global batch (a 1-rank checkpoint resumed on 2 ranks, or
// the reverse) continues at the same number of samples into the epoch, rounded up to this
// run's batches, or at the next epoch; the samples it then sees are exactly the saved
// epoch's remaining ones in order whenever the two global batches divide the point.
TEST_CASE("data/loader_resume_position_across_global_batch") {
  test::TempDir dir;
  DataConfig cfg = make_dataset(dir, 12);  // batch 3: 4 batches per epoch on 1 rank
  auto start_on = [&](int world, int rank, LoaderPosition saved, int64_t saved_global) {
    LoaderOptions o;
    o.world_size = world;
    o.rank = rank;
    o.start = saved;
    o.start_global_batch = saved_global;
    return std::make_unique<Loader>(cfg, o);
  };
  // 1 rank x 3 saved after 2 batches (6 samples) -> 2 ranks x 3 (global 6): batch 1 of 2.
  CHECK(start_on(2, 0, {0, 2}, 3)->position() == LoaderPosition{0, 1});
  // After 3 batches (9 samples): rounded up to 12 = the end of the epoch -> next epoch.
  CHECK(start_on(2, 1, {0, 3}, 3)->position() == LoaderPosition{1, 0});
  // 2 ranks x 3 saved after 1 global batch (6 samples) -> 1 rank x 3: batch 2 of 4.
  CHECK(start_on(1, 0, {0, 1}, 6)->position() == LoaderPosition{0, 2});
  // The same global batch keeps the position as it is.
  CHECK(start_on(1, 0, {0, 3}, 3)->position() == LoaderPosition{0, 3});

  // Sample identity: 1 rank's batches 2 and 3 are the union of the 2 ranks' batch 1.
  std::vector<int64_t> one_rank;
  {
    Loader l(cfg);
    for (int b = 0; b < 4; ++b) {
      Batch batch = l.next();
      if (b >= 2) one_rank.insert(one_rank.end(), batch.indices.begin(), batch.indices.end());
    }
  }
  std::multiset<int64_t> two_ranks;
  for (int r = 0; r < 2; ++r) {
    const Batch b = start_on(2, r, {0, 2}, 3)->next();
    two_ranks.insert(b.indices.begin(), b.indices.end());
  }
  CHECK(two_ranks == std::multiset<int64_t>(one_rank.begin(), one_rank.end()));
}

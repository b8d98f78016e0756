// PyTorch checkpoints read without Python (engine/pth_reader.h): files written by
// python3-torch 1.13 (tools/make_pth_fixtures.py, committed under tests/fixtures/pth/) load
// bit-identically to the safetensors path, in every storage type and view layout; legacy
// (pre-1.6) files, from torch.save and hand-built as PyTorch 0.3 wrote them under Python 2 and 3,
// load bit-identically to the same tensors in the zip format, and files at pickle protocol 1
// (text INT / LONG, read strictly) as those at protocol 2; TorchScript files, hostile
// pickles and legacy streams, truncated archives and bad storage views are refused with an
// sr::Error naming the file and the item; random byte flips never crash. The CLI reads .pth in
// `infer --weights` and `convert`.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/pth_reader.h"
#include "engine/safetensors.h"
#include "engine/torch_unpickler.h"
#include "nets/esrgan_names.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "nets/network_from_weights.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

std::string pth_fixture(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/pth/" + name;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::map<std::string, Tensor> as_map(const NamedTensors& t) { return std::map<std::string, Tensor>(t.begin(), t.end()); }

std::vector<float> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0;
}

// The fixture network of tests/fixtures/nets/rrdbnet_x4.safetensors and its weights ("weight.<key>").
struct RrdbFixture {
  SafetensorsFile file = read_safetensors(std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/rrdbnet_x4.safetensors");
  nlohmann::json opt = nlohmann::json::parse(file.metadata.at("net"));
  NamedTensors weights() const {
    NamedTensors w;
    for (const auto& [k, t] : file.tensors)
      if (k.rfind("weight.", 0) == 0) w.emplace_back(k.substr(7), t);
    return w;
  }
};

void expect_state_equals(Module& net, const NamedTensors& expected, float sign = 1.f) {
  const auto sd = as_map(net.state_dict());
  REQUIRE(sd.size() == expected.size());
  for (const auto& [k, t] : expected) {
    INFO(k);
    REQUIRE(sd.count(k));
    std::vector<float> want = values(t);
    for (float& x : want) x *= sign;
    CHECK(same_bits(sd.at(k), Tensor::from_vector(want, t.shape())));
  }
}

// round-to-nearest-even float32 -> bfloat16 -> float32
float to_bf16(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &b, 4);
  return x;
}

// The built srengine binary, or "" with a SKIPPED warning where it is not built.
std::string built_srengine() {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine";
  if (fs::exists(exe)) return exe;
  WARN("SKIPPED: " << exe << " is not built");
  return "";
}

}  // namespace

TEST_CASE("pth/rrdbnet_loads_bit_identically_to_safetensors") {
  const RrdbFixture fx;
  const NamedTensors w = fx.weights();
  test::TempDir dir;
  NamedTensors wrapped;
  for (const auto& [k, t] : w) wrapped.emplace_back("params." + k, t);
  write_safetensors(dir.file("w.safetensors"), wrapped);

  auto from_pth = build_network(fx.opt), from_st = build_network(fx.opt);
  CHECK(load_basicsr_weights(*from_pth, pth_fixture("rrdbnet_x4.pth"), "params") == "params");
  CHECK(load_basicsr_weights(*from_st, dir.file("w.safetensors"), "params") == "params");
  expect_state_equals(*from_pth, w);
  expect_state_equals(*from_st, w);
  {
    NoGradGuard no_grad;
    from_pth->eval();
    from_st->eval();
    const Tensor x = fx.file.get("input");
    CHECK(same_bits(from_pth->forward(x), from_st->forward(x)));
  }
  // auto prefers params_ema (the negated weights in the fixture), as BasicSR's param_key does.
  CHECK(load_basicsr_weights(*from_pth, pth_fixture("rrdbnet_x4.pth")) == "params_ema");
  expect_state_equals(*from_pth, w, -1.f);
  test::require_error([&] { load_basicsr_weights(*from_pth, pth_fixture("rrdbnet_x4.pth"), ""); },
                      {"rrdbnet_x4.pth", "no tensors with bare keys", "params.*", "params_ema.*"});
}

TEST_CASE("pth/fp16_bf16_and_module_prefix") {
  const RrdbFixture fx;
  const NamedTensors w = fx.weights();
  auto net = build_network(fx.opt);
  // Bare keys with DataParallel's 'module.' prefix, stored as float16: within half's rounding.
  CHECK(load_basicsr_weights(*net, pth_fixture("rrdbnet_x4_fp16_module.pth")) == "");
  auto sd = as_map(net->state_dict());
  for (const auto& [k, t] : w) {
    INFO(k);
    const std::vector<float> got = values(sd.at(k)), want = values(t);
    for (size_t i = 0; i < got.size(); ++i)
      REQUIRE(std::fabs(got[i] - want[i]) <= std::ldexp(std::fabs(want[i]), -11) + std::ldexp(1.0, -25));
  }
  // bfloat16 under 'params': exactly the round-to-nearest-even values.
  CHECK(load_basicsr_weights(*net, pth_fixture("rrdbnet_x4_bf16.pth")) == "params");
  sd = as_map(net->state_dict());
  for (const auto& [k, t] : w) {
    INFO(k);
    const std::vector<float> got = values(sd.at(k)), want = values(t);
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == to_bf16(want[i]));
  }
}

TEST_CASE("pth/every_storage_type_and_view") {
  for (const char* file : {"tensors.pth", "tensors_deflated.pth"}) {
    INFO(file);
    const PthFile f = read_pth(pth_fixture(file));
    const auto t = as_map(f.tensors);
    auto expect = [&](const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
      INFO(name);
      REQUIRE(t.count(name));
      CHECK(t.at(name).dtype() == DType::f32);
      CHECK(t.at(name).shape() == Shape(shape));
      CHECK(values(t.at(name)) == v);
    };
    expect("f32", {2, 3}, {0, 1, 2, 3, 4, 5});
    expect("f16", {6}, {1, -2, 0.5f, 65504, std::ldexp(1.f, -24), 0.333251953125f});
    expect("bf16", {5}, {1, -2, 0.5f, 3.140625f, -0.0078125f});
    expect("f64", {2}, {0.1f, 2.5f});
    expect("i64", {2}, {7, -3});
    expect("i32", {2}, {16777216, -5});
    expect("transposed", {3, 2}, {0, 3, 1, 4, 2, 5});
    expect("offset_view", {4}, {3, 4, 5, 6});
    expect("shared_a", {4}, {0, 1, 2, 3});
    expect("shared_b", {4}, {4, 5, 6, 7});
    expect("scalar", {}, {5});
    expect("empty", {0, 3}, {});
    expect("bn.weight", {2}, {1, 1});
    expect("bn.bias", {2}, {0, 0});
    expect("bn.running_mean", {2}, {0, 0});
    expect("bn.running_var", {2}, {1, 1});
    expect("bn.num_batches_tracked", {}, {0});
    expect("nested.deeper.w", {2}, {1, 2});
    expect("param", {2}, {3, 4});
    CHECK(f.tensors.size() == 19);
    CHECK(f.tensors.front().first == "f32");  // pickle (insertion) order
    for (const char* s : {"iter (int)", "lr (float)", "name (str)", "flag (bool)", "none (None)", "list (list)"})
      CHECK(std::find(f.skipped.begin(), f.skipped.end(), s) != f.skipped.end());
  }
  // From memory, the same.
  const std::vector<uint8_t> bytes = read_all(pth_fixture("tensors.pth"));
  const PthFile m = parse_pth(bytes.data(), bytes.size(), "mem.pth");
  CHECK(m.tensors.size() == 19);
}

TEST_CASE("pth/torchscript_and_other_files_refused") {
  for (auto read : {std::function<void(const std::string&)>([](const std::string& p) { read_pth(p); }),
                    std::function<void(const std::string&)>([](const std::string& p) { read_weights_file(p); })}) {
    test::require_error([&] { read(pth_fixture("torchscript.pt")); }, {"torchscript.pt", "TorchScript", "state_dict"});
  }
  test::TempDir dir;
  test::write_bytes(dir.file("junk.pth"), {'h', 'e', 'l', 'l', 'o'});
  test::require_error([&] { read_weights_file(dir.file("junk.pth")); }, {"junk.pth", "not a torch.save checkpoint"});
  test::require_error([&] { read_weights_file(dir.file("missing.pth")); }, {"missing.pth", "cannot open"});
  test::require_error([&] { read_pth(dir.file("missing.pth")); }, {"missing.pth", "cannot open"});
  auto net = build_network(RrdbFixture().opt);
  test::require_error([&] { load_basicsr_weights(*net, pth_fixture("torchscript.pt")); },
                      {"torchscript.pt", "TorchScript"});
}

TEST_CASE("pth/hostile_pickles_refused") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"os_system", {"imports 'os.system'", "refused", "nothing was executed"}},
      {"builtins_eval", {"imports 'builtins.eval'", "refused"}},
      {"stack_global_exec", {"imports 'builtins.exec'", "refused"}},
      {"load_from_bytes", {"torch.storage._load_from_bytes", "refused"}},
      {"numpy_reconstruct", {"imports 'numpy.core.multiarray._reconstruct'"}},
      {"whole_model", {"imports '__main__.Net'", "state_dict()"}},
      {"torch_module", {"imports 'torch.nn.modules.conv.Conv2d'", "nothing was executed", "state_dict()"}},
      {"quantized_tensor", {"imports 'torch._utils._rebuild_qtensor'", "tensor or storage kind"}},
      {"inst_opcode", {"opcode INST", "refused"}},
      {"reduce_storage_class", {"REDUCE", "storage class", "refused"}},
      {"not_a_dict", {"holds a list, not a state dict"}},
      {"cyclic_dict", {"nested over 32 levels", "self.self."}},
      {"truncated_pickle", {"data.pkl", "truncated"}},
      {"offset_out_of_range", {"tensor 'w'", "storage offset 7 is out of range"}},
      {"stride_outside", {"tensor 'w'", "strides [3, 2]", "reach element 7, outside the storage"}},
      {"size_overflow", {"tensor 'w'", "sizes overflow"}},
      {"negative_stride", {"tensor 'w'", "negative size or stride"}},
      {"expanded_view", {"tensor 'w'", "1073741824 elements viewed in a storage of 6"}},
      {"storage_larger_than_entry", {"storage '0' declares 100 elements", "holds 24 bytes"}},
      {"huge_storage", {"storage '0' declares 1099511627776 elements", "holds 24 bytes"}},
      {"missing_storage", {"storage '7'", "no entry 'archive/data/7'"}},
  };
  for (const auto& [name, parts] : cases) {
    const std::string file = "hostile_" + name + ".pth";
    INFO(file);
    std::vector<std::string> want = parts;
    want.push_back(file);
    const std::string msg = test::require_error([&] { read_weights_file(pth_fixture(file)); }, want);
    CHECK(msg.size() < 1000);  // one clear line, not a dump
  }
  CHECK_FALSE(fs::exists("/tmp/srengine_pwned"));
}

TEST_CASE("pth/truncated_and_spliced_archives_refused") {
  const std::vector<uint8_t> full = read_all(pth_fixture("rrdbnet_x4.pth"));
  std::mt19937_64 rng(7);
  std::vector<size_t> cuts = {0, 1, 4, 30, 100, full.size() / 2, full.size() - 1, full.size() - 22, full.size() - 23,
                              full.size() - 98};
  for (int i = 0; i < 200; ++i) cuts.push_back(rng() % full.size());
  for (size_t cut : cuts) {
    INFO("cut at " << cut);
    test::require_error([&] { parse_pth(full.data(), cut, "cut.pth"); }, {"cut.pth"});
  }
  // The central directory intact, a chunk of data removed: offsets now point elsewhere.
  for (int i = 0; i < 50; ++i) {
    const size_t at = rng() % (full.size() / 2), len = 1 + rng() % 4096;
    std::vector<uint8_t> spliced(full.begin(), full.begin() + at);
    spliced.insert(spliced.end(), full.begin() + std::min(full.size(), at + len), full.end());
    INFO("removed " << len << " bytes at " << at);
    test::require_error([&] { parse_pth(spliced.data(), spliced.size(), "spliced.pth"); }, {"spliced.pth"});
  }
}

TEST_CASE("pth/random_byte_flips_never_crash") {
  // Every outcome is a clean read or an sr::Error; anything else (a crash, another exception
  // type, a hang) fails. With the CRC check off, flips reach the pickle and the views.
  for (const char* file : {"tensors.pth", "rrdbnet_x4_fp16_module.pth"}) {
    const std::vector<uint8_t> base = read_all(pth_fixture(file));
    std::mt19937_64 rng(42);
    int ok = 0, refused = 0;
    for (int iter = 0; iter < 1500; ++iter) {
      std::vector<uint8_t> bytes = base;
      const int flips = 1 + (int)(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        const size_t at = rng() % bytes.size();
        bytes[at] = (rng() % 2) ? uint8_t(rng()) : uint8_t(bytes[at] ^ (1u << (rng() % 8)));
      }
      PthReadOptions opt;
      opt.verify_crc = iter % 4 == 0;
      try {
        const PthFile f = parse_pth(bytes.data(), bytes.size(), "flipped.pth", opt);
        ++ok;
      } catch (const Error& e) {
        ++refused;
        REQUIRE(std::string(e.what()).find("flipped.pth") != std::string::npos);
      }
    }
    INFO(file << ": " << ok << " read, " << refused << " refused");
    CHECK(ok + refused == 1500);
    CHECK(refused > 0);
  }
}

TEST_CASE("pth/cli_infer_and_convert_read_pth") {
  const std::string exe = built_srengine();
  if (exe.empty()) return;
  test::TempDir dir;
  const std::string infer_dir = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  // Same net, same weights, from safetensors and from .pth: identical output files.
  for (const std::string& w : {infer_dir + "rrdbnet_tiny.safetensors", pth_fixture("rrdbnet_tiny_infer.pth")}) {
    const std::string out = dir.subdir(fs::path(w).extension() == ".pth" ? "pth" : "st");
    const std::string cmd = exe + " infer --config " + infer_dir + "config.json --weights " + w + " --input " +
                            infer_dir + "input.png --output " + out + " > " + out + "/log.txt 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  CHECK(read_all(dir.file("pth/input.png")) == read_all(dir.file("st/input.png")));

  const std::string conv = exe + " convert " + pth_fixture("rrdbnet_x4.pth") + " " + dir.file("c.safetensors") +
                           " --param-key params > " + dir.file("convert.txt") + " 2>&1";
  REQUIRE(std::system(conv.c_str()) == 0);
  const SafetensorsFile c = read_safetensors(dir.file("c.safetensors"));
  const auto got = c.as_map();
  const NamedTensors w = RrdbFixture().weights();
  REQUIRE(got.size() == w.size());
  for (const auto& [k, t] : w) {
    INFO(k);
    REQUIRE(got.count(k));
    CHECK(same_bits(got.at(k), t));
  }
  CHECK(c.metadata.at("param_key") == "params");
  // A legacy (pre-1.6) file converts too, with no Python.
  const std::string legacy = exe + " convert " + pth_fixture("legacy.pth") + " " + dir.file("l.safetensors") + " > " +
                             dir.file("legacy.txt") + " 2>&1";
  const int legacy_rc = std::system(legacy.c_str());
  const std::vector<uint8_t> log = read_all(dir.file("legacy.txt"));
  INFO(std::string(log.begin(), log.end()));
  REQUIRE(legacy_rc == 0);
  CHECK(values(read_safetensors(dir.file("l.safetensors")).get("w")) == std::vector<float>{0, 1, 2, 3});
}

// `srengine convert` writes float32 whatever the source stores (a safetensors F64 too), names
// the checkpoint entries it skips on stderr, and refuses 'module.a' beside 'a' (which of the two
// it kept depended on their order), as infer does (select_basicsr_weights).
TEST_CASE("pth/convert_writes_f32_names_skipped_entries_refuses_module_twins") {
  const std::string exe = built_srengine();
  if (exe.empty()) return;
  test::TempDir dir;
  const auto convert = [&](const std::string& in, const std::string& out) {
    const std::string cmd = exe + " convert " + in + " " + out + " > " + dir.file("log.txt") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    const std::vector<uint8_t> log = read_all(dir.file("log.txt"));
    return std::make_pair(rc, std::string(log.begin(), log.end()));
  };

  const Tensor f64 = Tensor::from_vector(std::vector<double>{0.1, 2.5, -1e-3}, {3}, DType::f64);
  write_safetensors(dir.file("f64.safetensors"), {{"w", f64}});
  const auto [rc64, log64] = convert(dir.file("f64.safetensors"), dir.file("f64_out.safetensors"));
  INFO(log64);
  REQUIRE(rc64 == 0);
  const Tensor w = read_safetensors(dir.file("f64_out.safetensors")).get("w");  // F64 would read as float64
  CHECK(w.dtype() == DType::f32);
  CHECK(w.to_vector() == std::vector<double>{(double)0.1f, 2.5, (double)-1e-3f});

  const auto [rc, log] = convert(pth_fixture("convert_non_tensors.pth"), dir.file("nt.safetensors"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(read_safetensors(dir.file("nt.safetensors")).tensors.size() == 1);
  for (const char* s : {"skipped non-tensor entries", "b (int)", "c (str)", "d (list)", "<int key> (tensor)"})
    CHECK_THAT(log, Catch::Contains(s));

  const auto [rc2, log2] = convert(pth_fixture("convert_module_twins.pth"), dir.file("mt.safetensors"));
  INFO(log2);
  CHECK(rc2 != 0);
  CHECK_THAT(log2, Catch::Contains("'module.a' and 'a'") && Catch::Contains("keep one"));
  CHECK_FALSE(fs::exists(dir.file("mt.safetensors")));
  // infer's loader reads the same way (an error, not the later value).
  test::require_error([&] { select_basicsr_weights(read_weights_file(pth_fixture("convert_module_twins.pth")), "auto",
                                                    "twins.pth"); },
                      {"twins.pth", "'module.a' and 'a'"});
}

// ---- Legacy (pre-1.6) torch.save files -----------------------------------------------------

namespace {

// a and b hold the same tensors, bit for bit, in the same order, and skip the same entries.
void expect_same_pth(const PthFile& a, const PthFile& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(same_bits(a.tensors[i].second, b.tensors[i].second));
  }
  CHECK(a.skipped == b.skipped);
}

}  // namespace

TEST_CASE("pth/legacy_files_load_like_their_zip_twins") {
  // The same objects saved by torch.save in both formats: every storage type (float16, bfloat16,
  // float64, int64 and int32 converted to float32 as the zip path does), views, a Parameter,
  // nested dicts, state_dict()'s _metadata, non-tensor entries.
  expect_same_pth(read_pth(pth_fixture("legacy_tensors.pth")), read_pth(pth_fixture("tensors.pth")));
  expect_same_pth(read_pth(pth_fixture("legacy_convert_non_tensors.pth")),
                  read_pth(pth_fixture("convert_non_tensors.pth")));
  const PthFile rrdb = read_pth(pth_fixture("legacy_rrdbnet_x4.pth"));
  const auto zip = as_map(read_pth(pth_fixture("rrdbnet_x4.pth")).tensors);
  const NamedTensors w = RrdbFixture().weights();
  REQUIRE(rrdb.tensors.size() == w.size());
  for (const auto& [k, t] : rrdb.tensors) {
    INFO(k);
    REQUIRE(zip.count(k));
    CHECK(same_bits(t, zip.at(k)));
  }
  // Through every entry point: read_weights_file, load_basicsr_weights, from memory.
  auto net = build_network(RrdbFixture().opt);
  CHECK(load_basicsr_weights(*net, pth_fixture("legacy_rrdbnet_x4.pth")) == "params");
  expect_state_equals(*net, w);
  CHECK(values(as_map(read_weights_file(pth_fixture("legacy.pth"))).at("w")) == std::vector<float>{0, 1, 2, 3});
  const std::vector<uint8_t> bytes = read_all(pth_fixture("legacy_tensors.pth"));
  expect_same_pth(parse_pth(bytes.data(), bytes.size(), "mem.pth"), read_pth(pth_fixture("tensors.pth")));
}

TEST_CASE("pth/legacy_v1_rebuild_tensor_files_load") {
  // PyTorch 0.1-0.3 (torchvision's 2017 weights): torch._utils._rebuild_tensor, storages on
  // cuda:0, and under Python 2 byte-string names and an OrderedDict pickled as a list of pairs.
  // legacy_v1_as_zip.pth is torch.load of them saved again in the zip format.
  const PthFile want = read_pth(pth_fixture("legacy_v1_as_zip.pth"));
  REQUIRE(want.tensors.size() == 7);
  for (const char* file : {"legacy_v1_py2.pth", "legacy_v1_py3.pth"}) {
    INFO(file);
    expect_same_pth(read_pth(pth_fixture(file)), want);
  }
  const auto t = as_map(want.tensors);
  CHECK(values(t.at("classifier.weight")) == std::vector<float>{0, 3, 1, 4, 2, 5});  // arange(6).reshape(2, 3).t()
  CHECK(values(t.at("i64")) == std::vector<float>{7, -3, 1099511627776.f});
}

TEST_CASE("pth/protocol1_files_load_like_protocol2_ones") {
  // torch.save(..., pickle_protocol=1), in both formats: requires_grad and the 'flag' entry are
  // INT "01" / "00"; in the legacy format the magic number is LONG text and sys_info's
  // little_endian an INT too. Both read as tensors.pth does (the same objects at protocol 2),
  // their bools as bools.
  expect_same_pth(read_pth(pth_fixture("protocol1_tensors.pth")), read_pth(pth_fixture("tensors.pth")));
  expect_same_pth(read_pth(pth_fixture("legacy_protocol1_tensors.pth")), read_pth(pth_fixture("tensors.pth")));
  // The file with its text numbers spoiled: each refused, naming the file and the opcode's byte.
  const std::vector<uint8_t> good = read_all(pth_fixture("legacy_protocol1_tensors.pth"));
  const std::string magic = "L119547037146038801333356L\n";
  REQUIRE(std::string(good.begin(), good.begin() + (ptrdiff_t)magic.size()) == magic);
  auto spoiled = [&](const std::string& from, const std::string& to) {
    std::string s(good.begin(), good.end());
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return std::vector<uint8_t>(s.begin(), s.end());
  };
  const std::vector<std::pair<std::vector<uint8_t>, std::vector<std::string>>> cases = {
      {spoiled(magic, "L11954703714603880133335xL\n"),
       {"magic-number pickle", "LONG at byte 0 is '11954703714603880133335xL', not a decimal integer"}},
      {spoiled(magic, "L119547037146038" + std::string(1 << 20, '9') + "L\n"),
       {"magic-number pickle", "LONG at byte 0 is over 32 characters long", "magic number"}},
      {spoiled(magic, "L119547037146038801333357L\n"), {"not torch.save's magic number"}},
      // little_endian as the int 1 (not the bool True) is named as such
      {spoiled("q\x02I01\n", "q\x02I1\n"),
       {"sys_info little_endian is 1, expected True or False"}},
      {spoiled("q\x02I01\n", "q\x02I001\n"), {"sys_info pickle", "INT at byte 82 is '001'", "leading zero"}},
  };
  for (const auto& [bytes, parts] : cases) {
    std::vector<std::string> want = parts;
    want.push_back("p1.pth");
    const std::string msg = test::require_error([&] { parse_pth(bytes.data(), bytes.size(), "p1.pth"); }, want);
    CHECK(msg.size() < 1000);
  }
}

TEST_CASE("pth/text_int_opcodes_read_as_cpython_reads_them") {
  // text_ints_protocol0.pkl: pickle.dumps(v, protocol=0) for each v below, back to back (INT for
  // the int32 range, "01" / "00" for True / False, LONG "...L" beyond). Each reads as the value,
  // in LONG1's form past 64 bits (the fewest little-endian two's complement bytes, as
  // pickle.encode_long writes them).
  using K = PlainValue::Kind;
  struct Want {
    K kind;
    int64_t i;
    std::vector<uint8_t> bytes;  // big_integer
  };
  const std::vector<uint8_t> magic = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  const std::vector<Want> want = {
      {K::integer, 0, {}}, {K::integer, 7, {}}, {K::integer, -7, {}}, {K::integer, 255, {}},
      {K::integer, -256, {}}, {K::integer, 2147483647, {}}, {K::integer, -2147483648LL, {}},
      {K::boolean, 1, {}}, {K::boolean, 0, {}}, {K::integer, 2147483648LL, {}}, {K::integer, -2147483649LL, {}},
      {K::integer, int64_t(1) << 40, {}}, {K::integer, INT64_MAX, {}}, {K::integer, INT64_MIN, {}},
      {K::big_integer, 0, {0, 0, 0, 0, 0, 0, 0, 0x80, 0}},                        // 2^63
      {K::big_integer, 0, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff}},  // -2^63 - 1
      {K::big_integer, 0, magic},                                                  // torch.save's magic number
      {K::big_integer, 0, {0x94, 0x03, 0x63, 0xb9, 0x06, 0xdf, 0x95, 0x57, 0xaf, 0xe6}},  // its negative
  };
  const std::vector<uint8_t> file = read_all(pth_fixture("text_ints_protocol0.pkl"));
  PickleInput in;
  in.data = file.data();
  in.size = file.size();
  in.where = "pth 'ints.pkl'";
  for (const Want& w : want) {
    INFO("pickle at byte " << in.start);
    size_t end = 0;
    const PlainValue v = unpickle_plain(in, &end);
    CHECK(v.kind == w.kind);
    if (w.kind == K::big_integer) CHECK(std::vector<uint8_t>(v.s.begin(), v.s.end()) == w.bytes);
    else CHECK(v.i == w.i);
    in.start = end;
  }
  CHECK(in.start == file.size());

  auto read_text = [](const std::string& text) {
    const std::string pickle = text + ".";
    PickleInput one;
    one.data = reinterpret_cast<const uint8_t*>(pickle.data());
    one.size = pickle.size();
    one.where = "pth 'ints.pkl'";
    return unpickle_plain(one, nullptr);
  };
  // Python 2's INT holds its 64-bit int; LONG without its 'L' reads as Python 3 reads it.
  CHECK(read_text("I9223372036854775807\n").i == INT64_MAX);
  CHECK(read_text("I-9223372036854775808\n").i == INT64_MIN);
  CHECK(read_text("I1\n").kind == K::integer);  // only "01" and "00" are bools
  CHECK(read_text("L12\n").i == 12);
  CHECK(read_text("L0L\n").i == 0);
  CHECK(read_text("L-128L\n").i == -128);
  CHECK(read_text("L-129L\n").i == -129);
  CHECK(read_text("L" + std::string(31, '9') + "\n").kind == K::big_integer);

  // Malformed, ambiguous and out-of-range text: an sr::Error naming the file, the opcode, its
  // byte and the text (escaped, cut), never another exception or a wrong value.
  const std::string digits(1 << 20, '7');
  const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"I\n", {"INT at byte 0 is ''", "not a decimal integer"}},
      {"I12a\n", {"'12a', not a decimal integer"}},
      {"I 12\n", {"' 12', not a decimal integer"}},
      {"I12 \n", {"'12 ', not a decimal integer"}},
      {"I1_000\n", {"'1_000', not a decimal integer"}},
      {"I0x10\n", {"'0x10', not a decimal integer"}},
      {"I+\n", {"'+', not a decimal integer"}},
      {"I+5\n", {"'+5', not a decimal integer as repr() writes it", "an optional '-'"}},
      {"I+1\n", {"'+1', not a decimal integer"}},
      {"I-0\n", {"'-0': -0", "read it as False"}},
      {"L-0L\n", {"'-0L': -0"}},
      {"I-\n", {"'-', not a decimal integer"}},
      {"I--1\n", {"'--1', not a decimal integer"}},
      {"I+-1\n", {"'+-1', not a decimal integer"}},
      {"I12L\n", {"'12L', not a decimal integer"}},
      {"I12\r\n", {"'12\\x0d', not a decimal integer"}},
      {"I1e3\n", {"'1e3', not a decimal integer"}},
      {"I\x1b[31m\n", {"'\\x1b[31m', not a decimal integer"}},
      {"I007\n", {"'007': a leading zero", "octal"}},
      {"I-01\n", {"'-01': a leading zero"}},
      {"I000\n", {"'000': a leading zero"}},
      {"I9223372036854775808\n", {"'9223372036854775808': outside the int64 range"}},
      {"I-9223372036854775809\n", {"'-9223372036854775809': outside the int64 range"}},
      {"I99999999999999999999999\n", {"outside the int64 range"}},
      {"I" + std::string(24, '9') + "\n", {"outside the int64 range"}},
      {"I" + std::string(25, '9') + "\n", {"INT at byte 0 is over 24 characters long", "not an int64"}},
      {"I" + digits + "\n", {"INT at byte 0 is over 24 characters long", "7777..."}},
      {"I12", {"ends inside INT at byte 3", "truncated"}},
      {"I", {"ends inside INT at byte 1"}},
      {"LL\n", {"LONG at byte 0 is 'L', not a decimal integer", "an optional 'L'"}},
      {"L12LL\n", {"'12LL', not a decimal integer"}},
      {"L0x10L\n", {"'0x10L', not a decimal integer"}},
      {"L12l\n", {"'12l', not a decimal integer"}},
      {"L007L\n", {"'007L': a leading zero"}},
      {"L" + std::string(33, '9') + "\n", {"LONG at byte 0 is over 32 characters long"}},
      {"L" + digits + "L\n", {"LONG at byte 0 is over 32 characters long"}},
      {"L12", {"ends inside LONG at byte 3"}},
      {"(I1\nI12x\nt.", {"INT at byte 4 is '12x'"}},
  };
  for (const auto& [text, parts] : bad) {
    INFO("pickle '" << text.substr(0, 40) << "'");
    std::vector<std::string> want_parts = parts;
    want_parts.push_back("pth 'ints.pkl'");
    const std::string pickle = text.back() == '.' ? text : text + (text.back() == '\n' ? "." : "");
    const std::string msg = test::require_error(
        [&] {
          PickleInput one;
          one.data = reinterpret_cast<const uint8_t*>(pickle.data());
          one.size = pickle.size();
          one.where = "pth 'ints.pkl'";
          unpickle_plain(one, nullptr);
        },
        want_parts);
    CHECK(msg.size() < 600);
  }
}

TEST_CASE("pth/legacy_hostile_files_refused") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"os_system", {"the object pickle", "imports 'os.system'", "nothing was executed"}},
      {"sys_info_os_system", {"sys_info pickle", "imports 'os.system'", "plain values only"}},
      {"whole_module", {"imports 'torch.nn.modules.activation.ReLU'", "state_dict()"}},
      {"bad_magic", {"not torch.save's magic number"}},
      {"protocol_version", {"protocol version 1000", "only 1001"}},
      {"big_endian", {"big-endian", "little_endian False"}},
      {"long_size", {"type_sizes['long'] is 8", "expected 4"}},
      {"zip_style_id", {"is not ('storage', class, key, location, numel, view_metadata)"}},
      {"storage_view", {"storage '0'", "view of another storage", "not supported"}},
      {"key_missing", {"storage '1'", "missing from the storage-key list"}},
      {"key_extra", {"names storage '9'", "does not declare"}},
      {"key_twice", {"names storage '0' twice"}},
      {"key_not_str", {"storage-key list's item 0 is 0, not a str"}},
      {"keys_not_list", {"storage-key list is a dict, not a list"}},
      {"numel_mismatch", {"storage '0' (FloatStorage, 6 elements", "holds 5 elements"}},
      {"huge_storage", {"storage '0' (FloatStorage, 1099511627776 elements", "only 24 bytes are left"}},
      {"truncated_data", {"storage '0'", "only 20 bytes are left", "truncated"}},
      {"trailing_bytes", {"16 bytes follow the last storage"}},
  };
  for (const auto& [name, parts] : cases) {
    const std::string file = "legacy_hostile_" + name + ".pth";
    INFO(file);
    std::vector<std::string> want = parts;
    want.push_back(file);
    const std::string msg = test::require_error([&] { read_weights_file(pth_fixture(file)); }, want);
    CHECK(msg.size() < 1000);
  }
  CHECK_FALSE(fs::exists("/tmp/srengine_pwned"));
}

TEST_CASE("pth/legacy_pickle_size_is_capped") {
  // The pickles are read from the file's first bytes, 1 MiB at first, more as needed, at most
  // max_pickle_bytes: a 3 MiB string entry reads (from a file and from memory) under the default
  // cap and is refused under a 2 MiB one, naming the limit.
  const std::vector<uint8_t> legacy = read_all(pth_fixture("legacy.pth"));
  const size_t header = 137;  // magic number, protocol version and sys_info, as torch.save writes them
  REQUIRE(legacy[header] == 0x80);
  std::vector<uint8_t> big(legacy.begin(), legacy.begin() + header);
  const uint32_t n = 3u << 20;
  for (uint8_t b : std::vector<uint8_t>{0x80, 0x02, '}', 'X', 3, 0, 0, 0, 'p', 'a', 'd', 'X'}) big.push_back(b);
  for (int i = 0; i < 4; ++i) big.push_back(uint8_t(n >> (8 * i)));
  big.insert(big.end(), n, 'a');
  for (uint8_t b : std::vector<uint8_t>{'s', '.', 0x80, 0x02, ']', '.'}) big.push_back(b);
  test::TempDir dir;
  test::write_bytes(dir.file("big.pth"), big);
  const PthFile f = read_pth(dir.file("big.pth"));
  CHECK(f.tensors.empty());
  CHECK(f.skipped == std::vector<std::string>{"pad (str)"});
  CHECK(parse_pth(big.data(), big.size(), "big.pth").skipped.size() == 1);
  PthReadOptions small;
  small.max_pickle_bytes = 2u << 20;
  for (auto read : {std::function<void()>([&] { read_pth(dir.file("big.pth"), small); }),
                    std::function<void()>([&] { parse_pth(big.data(), big.size(), "big.pth", small); })})
    test::require_error(read, {"big.pth", "the object pickle", "over 2097152 bytes", "max_pickle_bytes"});
  // The cap counts every pickle: legacy_rrdbnet_x4.pth's are 18 kB.
  const std::vector<uint8_t> rrdb = read_all(pth_fixture("legacy_rrdbnet_x4.pth"));
  small.max_pickle_bytes = 1000;
  test::require_error([&] { parse_pth(rrdb.data(), rrdb.size(), "rrdb.pth", small); },
                      {"rrdb.pth", "over 1000 bytes"});
}

TEST_CASE("pth/legacy_truncations_and_byte_flips_never_crash") {
  // Every cut of a legacy file is refused (the last storage must end the file), and random
  // flips give a clean read or an sr::Error, never a crash, another exception or a hang.
  const std::vector<uint8_t> full = read_all(pth_fixture("legacy_rrdbnet_x4.pth"));
  std::mt19937_64 rng(11);
  std::vector<size_t> cuts = {0, 1, 2, 14, 15, 20, 137, full.size() / 2, full.size() - 1, full.size() - 8};
  for (int i = 0; i < 300; ++i) cuts.push_back(rng() % full.size());
  for (size_t cut : cuts) {
    INFO("cut at " << cut);
    test::require_error([&] { parse_pth(full.data(), cut, "cut.pth"); }, {"cut.pth"});
  }
  for (const char* file :
       {"legacy_tensors.pth", "legacy_v1_py2.pth", "legacy_rrdbnet_x4.pth", "legacy_protocol1_tensors.pth"}) {
    const std::vector<uint8_t> base = read_all(pth_fixture(file));
    int ok = 0, refused = 0;
    for (int iter = 0; iter < 1500; ++iter) {
      std::vector<uint8_t> bytes = base;
      const int flips = 1 + (int)(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        // Half the flips land in the pickles (the first 2 kB), where the structure is.
        const size_t at = (rng() % 2) ? rng() % std::min<size_t>(bytes.size(), 2048) : rng() % bytes.size();
        bytes[at] = (rng() % 2) ? uint8_t(rng()) : uint8_t(bytes[at] ^ (1u << (rng() % 8)));
      }
      try {
        parse_pth(bytes.data(), bytes.size(), "flipped.pth");
        ++ok;
      } catch (const Error& e) {
        ++refused;
        REQUIRE(std::string(e.what()).find("flipped.pth") != std::string::npos);
      }
    }
    INFO(file << ": " << ok << " read, " << refused << " refused");
    CHECK(ok + refused == 1500);
    CHECK(refused > 0);
    CHECK(ok > 0);
  }
}

// ---- The original ESRGAN's names -----------------------------------------------------------

// xinntao/ESRGAN's released files name RRDBNet's tensors their own way (2018: model.N of an
// nn.Sequential; 2019: RRDB_trunk, trunk_conv, upconv1, HRconv); both load as BasicSR's names
// with no conversion step. The fixtures are rrdbnet_x4.pth's params renamed, in the legacy format.
TEST_CASE("pth/old_esrgan_names_load_as_basicsr_names") {
  const RrdbFixture fx;
  const NamedTensors w = fx.weights();
  auto basicsr = build_network(fx.opt);
  CHECK(load_basicsr_weights(*basicsr, pth_fixture("rrdbnet_x4.pth"), "params") == "params");
  NoGradGuard no_grad;
  basicsr->eval();
  const Tensor x = fx.file.get("input");
  const Tensor want = basicsr->forward(x);
  for (const char* file : {"esrgan_2018_names_x4.pth", "esrgan_2019_names_x4.pth"}) {
    INFO(file);
    auto net = build_network(fx.opt);
    CHECK(load_basicsr_weights(*net, pth_fixture(file)) == "");
    expect_state_equals(*net, w);
    net->eval();
    CHECK(same_bits(net->forward(x), want));
    // The architecture is recognised from the mapped names, so infer needs no config.
    const WeightsArchitecture arch = detect_weights_architecture(pth_fixture(file));
    CHECK(arch.network_g["type"] == "RRDBNet");
    CHECK(arch.network_g["scale"] == 4);
    CHECK(arch.network_g["num_feat"] == 4);
    CHECK(arch.network_g["num_block"] == 2);
    CHECK(arch.network_g["num_grow_ch"] == 3);
  }
  // Another layout than the x4 releases' (an x2 Sequential has its HR conv at model.5) is named.
  NamedTensors odd = read_weights_file(pth_fixture("esrgan_2018_names_x4.pth"));
  odd.emplace_back("model.5.weight", Tensor::zeros({4, 4, 3, 3}));
  test::require_error([&] { select_basicsr_weights(odd, "auto", "odd.pth"); },
                      {"odd.pth", "ESRGAN 2018 names", "'model.5.weight' has no place"});
  NamedTensors trunk = read_weights_file(pth_fixture("esrgan_2019_names_x4.pth"));
  trunk.emplace_back("RRDB_trunk.0.RDB4.conv1.weight", Tensor::zeros({3, 4, 3, 3}));
  test::require_error([&] { network_from_tensors(trunk, "trunk.pth"); },
                      {"trunk.pth", "ESRGAN 2019 names", "'RRDB_trunk.0.RDB4.conv1.weight'"});
}

TEST_CASE("pth/cli_infer_reads_original_esrgan_files") {
  const std::string exe = built_srengine();
  if (exe.empty()) return;
  // `srengine infer --weights RRDB_ESRGAN_x4.pth` as released: legacy format, 2018 names, no
  // config. Same pixels as the BasicSR-named zip file.
  test::TempDir dir;
  const std::string input = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/input.png";
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"basicsr", pth_fixture("rrdbnet_x4.pth") + " --param-key params"},
      {"esrgan2018", pth_fixture("esrgan_2018_names_x4.pth")},
      {"esrgan2019", pth_fixture("esrgan_2019_names_x4.pth")}};
  for (const auto& [name, weights] : runs) {
    const std::string out = dir.subdir(name);
    const std::string cmd = exe + " infer --weights " + weights + " --input " + input + " --output " + out + " > " +
                            out + "/log.txt 2>&1";
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  const std::vector<uint8_t> want = read_all(dir.file("basicsr/input.png"));
  CHECK(read_all(dir.file("esrgan2018/input.png")) == want);
  CHECK(read_all(dir.file("esrgan2019/input.png")) == want);
}

namespace {

// Pickle bytes built by hand for the bombs below.
struct PickleBytes {
  std::vector<uint8_t> b;
  PickleBytes& op(std::initializer_list<uint8_t> ops) {
    b.insert(b.end(), ops);
    return *this;
  }
  PickleBytes& le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
    return *this;
  }
  PickleBytes& str(const std::string& s) {  // BINUNICODE
    op({'X'}).le32((uint32_t)s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  PickleBytes& global(const std::string& module, const std::string& name) {
    op({'c'});
    for (const std::string& part : {module, name}) {
      b.insert(b.end(), part.begin(), part.end());
      b.push_back('\n');
    }
    return *this;
  }
  PickleBytes& repeat(uint8_t o, size_t n) {
    b.insert(b.end(), n, o);
    return *this;
  }
};

}  // namespace

TEST_CASE("pth/derived_memory_and_time_bombs_refused") {
  // Small pickles whose unpickling (not their size) would cost gigabytes or minutes: each is
  // refused at once, naming the file, with the limit it hit.
  const size_t many = (2u << 20) + 10;  // past UnpickleLimits::max_objects
  auto refused = [](const PickleBytes& p, const std::vector<std::string>& parts) {
    std::vector<std::string> want = parts;
    want.push_back("bomb.pth");
    test::require_error([&] { parse_pth(p.b.data(), p.b.size(), "bomb.pth"); }, want);
  };
  {  // legacy header: a memoized 1 MiB string in a list 4,000 times (4 GB of copies)
    PickleBytes p;
    p.op({0x80, 0x02}).str(std::string(1u << 20, 'a')).op({'q', 0, ']', '('});
    for (int i = 0; i < 4000; ++i) p.op({'h', 0});
    p.op({'e', '.'});
    refused(p, {"refers to its strings over and over"});
  }
  refused(PickleBytes().op({0x80, 0x04, 'N'}).repeat(0x94, many).op({'.'}), {"memoizes over 2097152 values"});
  refused(PickleBytes().op({0x80, 0x02}).repeat('(', many), {"opens over 2097152 marks"});
  refused(PickleBytes().op({0x80, 0x02, ']', '('}).repeat('N', many).op({'e', '.'}), {"over 2097152"});
  {  // a state dict naming one 1M-element tensor 1,500 times: 6 GB of copies out of one storage
    auto named = [](int names) {
      PickleBytes p;
      p.op({0x80, 0x02, '}', 'q', 0, '('}).str("n0").global("torch._utils", "_rebuild_tensor_v2").op({'(', '('});
      p.str("storage").global("torch", "FloatStorage").str("0").str("cpu").op({'J'}).le32(1000000).op({'t', 'Q'});
      p.op({'K', 0, 'J'}).le32(1000000).op({0x85, 'K', 1, 0x85, 0x89}).global("collections", "OrderedDict");
      p.op({')', 'R', 't', 'R', 'q', 1});
      for (int i = 1; i < names; ++i) p.str("n" + std::to_string(i)).op({'h', 1});
      return p.op({'u', '.'});
    };
    const PickleBytes bomb = named(1500);
    test::require_error([&] { unpickle_state_dict(bomb.b.data(), bomb.b.size(), "pth 'bomb.pth'"); },
                        {"bomb.pth", "1500 tensors hold 1500000000 elements", "storages only 1000000"});
    // The same with 17 names (tied weights, views: 17M elements, within the slack) is read.
    const PickleBytes tied = named(17);
    CHECK(unpickle_state_dict(tied.b.data(), tied.b.size(), "pth 'tied.pth'").tensors.size() == 17);
  }
  {  // 4.6 kB of dicts 30 levels deep, each holding the one below twice under 4,000-byte keys:
     // 2^30 names of up to 120 kB to build
    PickleBytes p;
    p.op({0x80, 0x02, '}', 'q', 0});
    const std::string key(4000, 'k');
    for (int level = 1; level <= 30; ++level) {
      p.op({'}', '('}).str(key).op({'h', (uint8_t)(level - 1)}).str(key + "2").op({'h', (uint8_t)(level - 1)});
      p.op({'u', 'q', (uint8_t)level});
    }
    p.op({'.'});
    test::require_error([&] { unpickle_state_dict(p.b.data(), p.b.size(), "pth 'bomb.pth'"); },
                        {"bomb.pth", "names add up to over 64 MB"});
  }
}

TEST_CASE("pth/old_esrgan_names_refuse_odd_keys_safely") {
  // A file in the 2018 naming with a key of a 30-digit block index, one with terminal control
  // bytes, and one of 4,000 characters: each an error naming the file, the key escaped and cut.
  const Tensor t = Tensor::zeros({1});
  auto error_for = [&](const std::string& odd) {
    NamedTensors tensors = {{"model.1.sub.0.RDB1.conv1.0.weight", t}, {odd, t}};
    return test::require_error([&] { map_old_esrgan_names(tensors, "old.pth"); }, {"old.pth", "has no place"});
  };
  CHECK_THAT(error_for("model.1.sub." + std::string(30, '9') + ".RDB1.conv1.0.weight"),
             Catch::Contains(std::string(30, '9')));
  const std::string escaped = error_for("model.1.sub.0.RDB1\x1b[31mRED\x1b[0m\nFAKE LINE");
  CHECK(escaped.find('\x1b') == std::string::npos);
  CHECK(escaped.find('\n') == std::string::npos);
  CHECK_THAT(escaped, Catch::Contains("\\x1b[31mRED"));
  CHECK(error_for("model." + std::string(4000, '1')).size() < 600);
}

TEST_CASE("pth/bool_and_small_integer_tensors_load") {
  // Masks and index buffers (bool, uint8, int8, int16) load as float32 like the int64 / int32
  // ones, in both formats; before, one such tensor refused the whole file.
  for (const char* file : {"small_int_types.pth", "legacy_small_int_types.pth"}) {
    INFO(file);
    const std::map<std::string, Tensor> m = as_map(read_weights_file(pth_fixture(file)));
    REQUIRE(m.size() == 5);
    CHECK(m.at("mask").shape() == Shape{2, 3});
    CHECK(values(m.at("mask")) == std::vector<float>{1, 0, 1, 0, 0, 1});
    CHECK(values(m.at("bytes")) == std::vector<float>{0, 1, 127, 128, 255});
    CHECK(values(m.at("chars")) == std::vector<float>{-128, -1, 0, 127});
    CHECK(values(m.at("shorts")) == std::vector<float>{-32768, -2, 7, 32767});
    CHECK(values(m.at("w")) == std::vector<float>{0.5f, -1.5f});
  }
}

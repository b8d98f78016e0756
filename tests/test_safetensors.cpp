// safetensors: round trips (F32, F64, metadata, scalars, empty tensors, 50,000 tiny tensors),
// the writer's exact header bytes, F16/BF16/I64 reading, every malformed-header case as an sr::Error naming the file, a random
// corruption loop that may only ever throw sr::Error, and the atomic write.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "engine/error.h"
#include "engine/safetensors.h"

using namespace sr;

namespace {

std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + header.size());
  return out;
}

// Expects parse to throw an sr::Error whose message contains the file name and `part`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& part) {
  try {
    parse_safetensors(bytes.data(), bytes.size(), "bad.safetensors");
    FAIL("no error; expected one mentioning '" << part << "'");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("bad.safetensors") != std::string::npos);
    CHECK(msg.find(part) != std::string::npos);
  }
}

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("srengine_st_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("safetensors/round_trip") {
  Tensor a = Tensor::from_vector(std::vector<double>{1.5, -2.25, 3e-8, 4e30, 0, -0.0}, {2, 3}, DType::f32);
  Tensor b = Tensor::from_vector(std::vector<double>{M_PI, -1e-300, 1e300}, {3}, DType::f64);
  Tensor s = Tensor::full({}, 7.0);                         // 0-d scalar (num_batches_tracked)
  Tensor z = Tensor::empty({0, 4});                          // empty
  Tensor big = Tensor::empty({2, 3, 4, 5, 6}, DType::f64);   // 5-D, non-trivial strides
  std::vector<double> vb(big.numel());
  for (size_t i = 0; i < vb.size(); ++i) vb[i] = std::sin(double(i)) * 1e3;
  big = Tensor::from_vector(vb, big.shape(), DType::f64);
  Tensor view = big.narrow(1, 1, 2);  // a strided view is written contiguously
  const NamedTensors in{{"a.weight", a}, {"b", b}, {"scalar", s}, {"empty", z}, {"v", view}};
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"iter", "1200"}, {"ünï", "cödé"}};

  const std::string path = temp_dir() + "/rt.safetensors";
  write_safetensors(path, in, meta);
  SafetensorsFile f = read_safetensors(path);
  CHECK(f.metadata == meta);
  REQUIRE(f.tensors.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO(in[i].first);
    CHECK(f.tensors[i].first == in[i].first);  // written order = data order = read order
    const Tensor& t = f.tensors[i].second;
    CHECK(t.shape() == in[i].second.shape());
    CHECK(t.dtype() == in[i].second.dtype());
    CHECK(t.to_vector() == in[i].second.to_vector());
  }
  CHECK(f.get("b").dtype() == DType::f64);
  CHECK(f.contains("scalar"));
  CHECK_FALSE(f.contains("nope"));
  CHECK_THROWS_WITH(f.get("nope"), Catch::Contains("nope") && Catch::Contains("rt.safetensors"));

  // The data section starts 8-byte aligned.
  const auto bytes = serialize_safetensors(in, meta);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK((8 + n) % 8 == 0);

  // Reading into a chosen dtype.
  SafetensorsReadOptions as64;
  as64.dtype = DType::f64;
  CHECK(read_safetensors(path, as64).get("a.weight").dtype() == DType::f64);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

// The header's JSON text as the writer has always written it (captured from the ordered_json
// writer before the header was built by appends): compact, "__metadata__" first with its keys
// sorted, then the tensors in the given order; names escaped as nlohmann's dump() escapes them
// ('"', '\\', control bytes; UTF-8 and DEL kept); spaces pad the data to 8 bytes.
TEST_CASE("safetensors/header_bytes_are_unchanged") {
  const NamedTensors tensors = {{"conv.weight", Tensor::full({2, 1, 3, 3}, 0.5)},
                                {"q\"uote\\back\nline\t\x01\x1f\x7f", Tensor::full({3}, 1.0, DType::f64)},
                                {"scalar", Tensor::full({}, 2.0)},
                                {"empty", Tensor::zeros({0, 3})},
                                {"caf\xc3\xa9 \xe2\x82\xac", Tensor::full({1}, 3.0)}};
  const std::map<std::string, std::string> meta = {{"net", "{\"type\": \"RRDBNet\", \"scale\": 4}"},
                                                   {"a\nb", "\xe2\x82\xac\x02"}};
  const std::string entries =
      R"("conv.weight":{"dtype":"F32","shape":[2,1,3,3],"data_offsets":[0,72]},)"
      R"("q\"uote\\back\nline\t\u0001\u001f)" "\x7f" R"(":{"dtype":"F64","shape":[3],"data_offsets":[72,96]},)"
      R"("scalar":{"dtype":"F32","shape":[],"data_offsets":[96,100]},)"
      R"("empty":{"dtype":"F32","shape":[0,3],"data_offsets":[100,100]},)"
      R"("caf)" "\xc3\xa9 \xe2\x82\xac" R"(":{"dtype":"F32","shape":[1],"data_offsets":[100,104]}})";
  const std::string with_meta = R"({"__metadata__":{"a\nb":")" "\xe2\x82\xac" R"(\u0002",)"
                                R"("net":"{\"type\": \"RRDBNet\", \"scale\": 4}"},)" + entries + "   ";
  const std::string bare = "{" + entries + "     ";
  auto header_of = [](const std::vector<uint8_t>& file) {
    uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    return std::string(file.begin() + 8, file.begin() + 8 + (ptrdiff_t)n);
  };
  const std::vector<uint8_t> a = serialize_safetensors(tensors, meta), b = serialize_safetensors(tensors);
  CHECK(header_of(a) == with_meta);
  CHECK(header_of(b) == bare);
  CHECK(a.size() == 8 + with_meta.size() + 104);
  CHECK(b.size() == 8 + bare.size() + 104);
  CHECK(serialize_safetensors({}) == std::vector<uint8_t>{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '});
  // And what it reads back as.
  const SafetensorsFile f = parse_safetensors(a.data(), a.size(), "a.safetensors");
  CHECK(f.metadata == meta);
  REQUIRE(f.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) CHECK(f.tensors[i].first == tensors[i].first);
}

TEST_CASE("safetensors/many_tiny_tensors_round_trip") {
  // 50,000 tensors of one or two elements (the header builder was quadratic in their count:
  // 80,000 took 23 s to write). Each comes back under its name, in order, with its values.
  const int n = 50000;
  NamedTensors in;
  in.reserve(n);
  for (int i = 0; i < n; ++i)
    in.emplace_back("body." + std::to_string(i) + (i % 2 ? ".weight" : ".bias"),
                    Tensor::full({1 + i % 2}, 0.25 * i, i % 7 == 0 ? DType::f64 : DType::f32));
  const std::string path = temp_dir() + "/many.safetensors";
  write_safetensors(path, in, {{"count", std::to_string(n)}});
  const SafetensorsFile f = read_safetensors(path);
  CHECK(f.metadata.at("count") == std::to_string(n));
  REQUIRE(f.tensors.size() == (size_t)n);
  int wrong = 0;
  for (int i = 0; i < n; ++i) {
    const Tensor& t = f.tensors[i].second;
    if (f.tensors[i].first != in[i].first || t.dtype() != in[i].second.dtype() ||
        t.to_vector() != in[i].second.to_vector())
      ++wrong;
  }
  CHECK(wrong == 0);
  // A repeated name among them is still found.
  in.emplace_back("body.777.weight", Tensor::zeros({1}));
  CHECK_THROWS_WITH(serialize_safetensors(in), Catch::Contains("'body.777.weight' is repeated"));
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_CASE("safetensors/writer_rejects_bad_input") {
  Tensor a = Tensor::zeros({2});
  CHECK_THROWS_WITH(serialize_safetensors({{"x", a}, {"x", a}}), Catch::Contains("repeated"));
  CHECK_THROWS_WITH(serialize_safetensors({{"", a}}), Catch::Contains("empty tensor name"));
  CHECK_THROWS_WITH(serialize_safetensors({{"__metadata__", a}}), Catch::Contains("reserved"));
  CHECK_THROWS_WITH(serialize_safetensors({{"u", Tensor()}}), Catch::Contains("undefined"));
  CHECK_THROWS_WITH(serialize_safetensors({{"bad\xff", a}}), Catch::Contains("UTF-8"));
}

TEST_CASE("safetensors/reads_f16_bf16_ints") {
  // Half: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), 0.5*2^-14 (subnormal), inf.
  const uint16_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0200, 0x7c00};
  const float h_expect[] = {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -15), INFINITY};
  // BF16: 1.0, -3.0, 1/3 (truncated).
  const uint16_t bf[] = {0x3f80, 0xc040, 0x3eab};
  const int64_t i64[] = {0, -5, 1000000};
  std::vector<uint8_t> data(sizeof h + sizeof bf + sizeof i64);
  std::memcpy(data.data(), h, sizeof h);
  std::memcpy(data.data() + sizeof h, bf, sizeof bf);
  std::memcpy(data.data() + sizeof h + sizeof bf, i64, sizeof i64);
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},)"
      R"("bf":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},)"
      R"("n":{"dtype":"I64","shape":[3],"data_offsets":[18,42]}})";
  const auto file = make_file(header, data);
  SafetensorsFile f = parse_safetensors(file.data(), file.size(), "mixed");
  const auto hv = f.get("h").to_vector();
  for (int i = 0; i < 6; ++i) CHECK(hv[i] == (double)h_expect[i]);
  CHECK(f.get("h").dtype() == DType::f32);
  const auto bv = f.get("bf").to_vector();
  CHECK(bv[0] == 1.0);
  CHECK(bv[1] == -3.0);
  CHECK(bv[2] == Approx(1.0 / 3).epsilon(4e-3));
  CHECK(f.get("n").to_vector() == std::vector<double>{0, -5, 1000000});

  // Every half bit pattern against the definition value = (-1)^s 2^(e-15) (1 + m/1024).
  for (uint32_t b = 0; b < 65536; ++b) {
    const int s = b >> 15, e = (b >> 10) & 31, m = b & 1023;
    const float got = half_to_float((uint16_t)b);
    if (e == 31) {
      CHECK((m ? std::isnan(got) : std::isinf(got)));
      continue;
    }
    const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
    if ((double)got != (s ? -mag : mag)) FAIL("half bits " << b << " -> " << got << ", expected " << mag);
  }
}

TEST_CASE("safetensors/malformed_headers_are_errors") {
  const std::vector<uint8_t> d8(8, 0);
  auto file = [&](const std::string& h, const std::vector<uint8_t>& d) { return make_file(h, d); };
  const std::string ok_entry = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  {
    const auto good = file(ok_entry, d8);
    CHECK(parse_safetensors(good.data(), good.size(), "x").tensors.size() == 1);
  }
  expect_error({1, 2, 3}, "shorter than the 8-byte header length");
  {
    auto f = file(ok_entry, d8);
    f[0] = 0xff;  // header length larger than the file
    f[1] = 0xff;
    expect_error(f, "exceeds the file");
  }
  {
    auto f = file(ok_entry, d8);
    f[7] = 0x7f;  // absurd length
    expect_error(f, "exceeds the limit");
  }
  expect_error({1, 0, 0, 0, 0, 0, 0, 0, '{'}, "too small");
  expect_error(file(R"({"a":{"dtype":"F32",)", d8), "not valid JSON");
  expect_error(file(R"([1,2])", {}), "must be a JSON object");
  expect_error(file(std::string(5000, '[') + std::string(5000, ']'), {}), "nested");
  expect_error(file(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", d8), "unsupported dtype");
  expect_error(file(R"({"a":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", d8), "dtype must be a string");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8), "needs 12 bytes");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8), "non-negative");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", d8), "non-negative");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,2],"data_offsets":[0,8]}})", d8), "at most 5");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d8),
               "overflows");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8), "end before");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8), "[begin, end]");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[2]}})", d8), "needs \"dtype\"");
  expect_error(file(R"({"a":[1]})", d8), "must be an object");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", d8), "past the end");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "overlaps");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "gap");
  expect_error(file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8), "trailing bytes");
  expect_error(file(R"({"__metadata__":{"k":1}})", {}), "must be a string");
  expect_error(file(R"({"__metadata__":[1]})", {}), "__metadata__ must be an object");
  CHECK_THROWS_WITH(read_safetensors(std::filesystem::temp_directory_path().string()), Catch::Contains("is a folder"));
  CHECK_THROWS_WITH(read_safetensors("/nonexistent/w.safetensors"),
                    Catch::Contains("/nonexistent/w.safetensors") && Catch::Contains("cannot open"));
}

TEST_CASE("safetensors/random_corruption_only_throws_sr_error") {
  // A small valid file; each round flips, overwrites, inserts or truncates bytes (biased
  // to the header, where the parser works) and parses the result. Anything other than a
  // clean parse or an sr::Error (a crash, std::bad_alloc, a JSON exception) fails.
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<double>{7, 8}, {2}, DType::f64);
  const auto good = serialize_safetensors({{"layer.weight", a}, {"layer.bias", b}}, {{"k", "v"}});
  const uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  int parsed = 0, errors = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> f = good;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t hdr_end = std::max<size_t>(1, std::min<size_t>(f.size(), 8 + 200));
      const size_t pos = (rng() % 4 == 0) ? rng() % std::max<size_t>(f.size(), 1) : rng() % hdr_end;
      switch (rng() % 5) {
        case 0: if (pos < f.size()) f[pos] ^= uint8_t(1u << (rng() % 8)); break;
        case 1: if (pos < f.size()) f[pos] = uint8_t(rng()); break;
        case 2: if (pos < f.size()) f[pos] = "{}[]\":,0123456789-e."[rng() % 20]; break;
        case 3: {  // insert one byte (spelt out: GCC 12 warns falsely on vector::insert here)
          const size_t at = std::min(pos, f.size());
          std::vector<uint8_t> g(f.size() + 1);
          std::copy(f.begin(), f.begin() + at, g.begin());
          g[at] = uint8_t(rng());
          std::copy(f.begin() + at, f.end(), g.begin() + at + 1);
          f.swap(g);
          break;
        }
        case 4: f.resize(std::min(pos, f.size())); break;
      }
    }
    try {
      SafetensorsFile r = parse_safetensors(f.data(), f.size(), "fuzz");
      ++parsed;
      for (const auto& [n, t] : r.tensors) (void)t.to_vector();
    } catch (const Error&) {
      ++errors;
    } catch (const std::exception& ex) {
      FAIL("round " << round << ": non-sr::Error exception: " << ex.what());
    }
  }
  CHECK(errors > 1000);  // most corruptions must be detected...
  CHECK(parsed > 0);     // ...while harmless ones (a metadata letter) still parse
}

TEST_CASE("safetensors/atomic_write_replaces_and_leaves_no_temp") {
  const std::string dir = temp_dir() + "_atomic";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/ckpt.safetensors";
  write_safetensors(path, {{"x", Tensor::full({3}, 1.0)}});
  write_safetensors(path, {{"x", Tensor::full({3}, 2.0)}});
  CHECK(read_safetensors(path).get("x").to_vector() == std::vector<double>{2, 2, 2});
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);  // no temporary left behind
  // A failing write (bad tensor) leaves the old file intact and no temporary.
  CHECK_THROWS(write_safetensors(path, {{"x", Tensor::full({3}, 3.0)}, {"x", Tensor::full({1}, 0.0)}}));
  CHECK(read_safetensors(path).get("x").to_vector() == std::vector<double>{2, 2, 2});
  CHECK_THROWS_WITH(write_safetensors(dir + "/no/such/dir/w.safetensors", {{"x", Tensor::full({1}, 1.0)}}),
                    Catch::Contains("does not exist"));
  std::filesystem::remove_all(dir);
}

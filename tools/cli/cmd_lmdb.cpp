// `srengine lmdb`: a folder of images as a BasicSR LMDB folder (what create_lmdb.py makes: data.mdb
// with each image re-encoded as PNG under its name without extension, and meta_info.txt).
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/lmdb_writer.h"
#include "engine/atomic_file.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/progress_bar.h"

namespace sr::cli {
namespace fs = std::filesystem;

int run_lmdb(const std::vector<std::string>& args) {
  int compression = 1;
  std::vector<std::string> paths;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--compression") {
      SR_CHECK(i + 1 < args.size(), "--compression needs a value");
      compression = parse_int_arg("lmdb", "--compression", args[++i], 0, 9);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine lmdb [--compression N] IN_DIR OUT.lmdb\n\n"
          "Writes the images of IN_DIR as a BasicSR LMDB folder, as scripts/data_preparation/create_lmdb.py:\n"
          "OUT.lmdb/data.mdb holds each image re-encoded as PNG under its name without extension\n"
          "(0001_s001.png -> key 0001_s001), OUT.lmdb/meta_info.txt lists '<key>.png (h,w,c) N'.\n"
          "Train on it with io_backend: {type: lmdb} (docs/DATA.md).\n"
          "  --compression N   PNG zlib level 0..9 (default 1, create_lmdb.py's)\n"
          "OUT.lmdb must not hold a database already.\n");
      return 0;
    } else if (!args[i].empty() && args[i][0] != '-') {
      paths.push_back(args[i]);
    } else {
      fail("unknown argument '", args[i], "' (see srengine lmdb --help)");
    }
  }
  SR_CHECK(paths.size() == 2, "lmdb: expected IN_DIR and OUT.lmdb, got ", paths.size(), " paths (see srengine lmdb ",
           "--help)");
  const std::string in = paths[0], out = paths[1];
  std::string trimmed = out;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  SR_CHECK(trimmed.size() > 5 && trimmed.compare(trimmed.size() - 5, 5, ".lmdb") == 0, "lmdb: the output '", out,
           "' should end with '.lmdb' (BasicSR reads only such folders)");
  // Keys are names without extension, written to data.mdb in key order (a-b.png sorts before
  // a.png, its key after a's) while meta_info.txt lists them in file-name order, as
  // create_lmdb.py does (and as the folder itself is read); a.png and a.jpg would be one key,
  // refused before anything is written.
  const std::vector<std::string> files = data::list_image_files(in);
  std::map<std::string, std::string> by_key;  // key -> file name
  for (const std::string& name : files) {
    const std::string key = fs::path(name).stem().string();
    const auto [it, fresh] = by_key.emplace(key, name);
    SR_CHECK(fresh, "lmdb: '", (fs::path(in) / name).string(), "' and '", (fs::path(in) / it->second).string(),
             "' share the key '", key, "' (the name without extension); rename one");
  }
  std::vector<std::string> keys, names;
  for (const auto& [key, name] : by_key) {
    keys.push_back(key);
    names.push_back(name);
  }
  std::map<std::string, std::string> meta_line;  // file name -> its meta_info.txt line
  ProgressBar bar("lmdb", (long)names.size());
  data::write_lmdb(out, names.size(), [&](size_t i) {
    const std::string path = (fs::path(in) / names[i]).string();
    const data::Image img = data::read_image(path);
    data::LmdbRecord r;
    r.key = keys[i];
    r.value = data::encode_png(img, path, 0, compression);
    meta_line[names[i]] = str_cat(r.key, ".png (", img.height, ",", img.width, ",", img.channels, ") ", compression,
                                  "\n");
    bar.update((long)i + 1);
    return r;
  });
  std::string meta;
  for (const std::string& name : files) meta += meta_line.at(name);
  write_file_atomically(
      (fs::path(out) / "meta_info.txt").string(),
      [&](std::FILE* f) {
        SR_CHECK(std::fwrite(meta.data(), 1, meta.size(), f) == meta.size() && std::fflush(f) == 0, "write failed");
      },
      Durability::replaced_on_success);
  std::printf("lmdb: %zu images of %s written to %s\n", names.size(), in.c_str(), out.c_str());
  return 0;
}

}  // namespace sr::cli

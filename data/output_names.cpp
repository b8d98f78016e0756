// Output-name planning (see output_names.h).
#include "data/output_names.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "engine/error.h"

namespace sr::data {

namespace fs = std::filesystem;

namespace {

using FileId = std::pair<dev_t, ino_t>;

bool file_id(const std::string& path, FileId* id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  *id = {st.st_dev, st.st_ino};
  return true;
}

std::map<FileId, std::string> input_ids(const std::vector<std::string>& inputs) {
  std::map<FileId, std::string> ids;
  FileId id;
  for (const auto& in : inputs)
    if (file_id(in, &id)) ids.emplace(id, in);
  return ids;
}

void check_not_input(const std::string& output, const std::string& from, const std::map<FileId, std::string>& ids,
                     const std::string& what, const std::string& fix) {
  FileId id;
  if (!file_id(output, &id)) return;  // does not exist yet: cannot be an input
  const auto it = ids.find(id);
  if (it == ids.end()) return;
  if (it->second == from) fail(what, ": output '", output, "' would overwrite its input; ", fix);
  fail(what, ": output '", output, "' (from '", from, "') would overwrite the input '", it->second, "'; ", fix);
}

// weakly_canonical resolves what exists (symbolic links, '..') and normalises the rest, so
// "out" and "./out/" give the same key before either is created.
std::string folder_key(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(dir), ec);
  if (ec) p = fs::absolute(dir);
  p = p.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "out/" -> "out"
  return p.string();
}

}  // namespace

void check_name_part(const std::string& part, const std::string& what) {
  SR_CHECK(part.find('/') == std::string::npos && part.find('\0') == std::string::npos, what, " is '", part,
           "': it must not contain '/' (it is part of a file name, which cannot leave its folder)");
}

void check_file_name_component(const std::string& name, const std::string& what, const std::string& why) {
  SR_CHECK(!name.empty(), what, " is empty; it must be one file or folder name (", why, ")");
  SR_CHECK(name != "." && name != ".." && name.find('/') == std::string::npos &&
               name.find('\0') == std::string::npos,
           what, " is '", name, "': it must be one file or folder name, without '/' and not '.' or '..' (", why,
           ")");
}

std::vector<PlannedOutput> plan_outputs(const std::vector<std::string>& inputs, const std::string& out_dir,
                                        const std::function<std::string(const std::string&)>& name_of,
                                        const std::string& what) {
  const std::map<FileId, std::string> ids = input_ids(inputs);
  std::map<std::string, std::string> taken;  // output name -> the input that has it
  std::vector<PlannedOutput> plan;
  plan.reserve(inputs.size());
  for (const auto& in : inputs) {
    const std::string name = name_of(in);
    check_file_name_component(name, what + ": output name", "outputs are written inside '" + out_dir + "'");
    const auto [it, fresh] = taken.emplace(name, in);
    if (!fresh)
      fail(what, ": inputs '", it->second, "' and '", in, "' would both be written to '",
           (fs::path(out_dir) / name).string(),
           "' (one would overwrite the other); rename one, or process them into separate folders");
    plan.push_back({in, (fs::path(out_dir) / name).string()});
  }
  for (const auto& p : plan)
    check_not_input(p.output, p.input, ids, what, "choose another output folder (or, for infer, a --suffix)");
  return plan;
}

bool path_lies_within(const std::string& path, const std::string& folder) {
  const fs::path p(folder_key(path)), f(folder_key(folder));
  // `f` holds `p` when it is a prefix of it, component by component.
  return std::mismatch(f.begin(), f.end(), p.begin(), p.end()).first == f.end();
}

std::string archive_existing_folder(const std::string& dir, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || fs::is_empty(dir, ec)) return "";
  const fs::path here = fs::current_path(), folder = fs::canonical(dir);
  const std::string which =
      folder == here ? "the working directory" : str_cat("a parent of the working directory '", here.string(), "'");
  SR_CHECK(!path_lies_within(here.string(), dir), what, " '", dir, "' already holds results and is ", which,
           ": it is not renamed to keep them; choose another output folder");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &local);
  std::string path = fs::path(dir).lexically_normal().string();
  if (path.size() > 1 && path.back() == '/') path.pop_back();  // "results/" -> "results_archived_..."
  // A folder reached through a symbolic link (experiments/ -> a larger disk) is archived
  // where it lies, and the link keeps naming an empty folder there: renaming the link
  // would send the new results to the link's own disk.
  const bool via_link = fs::is_symlink(path, ec);
  if (via_link) path = folder.string();
  const std::string base = str_cat(path, "_archived_", stamp);
  std::string archived = base;
  for (int n = 1; fs::exists(archived, ec) || fs::is_symlink(archived, ec); ++n) archived = str_cat(base, "_", n);
  fs::rename(path, archived, ec);
  SR_CHECK(!ec, what, " '", dir, "' already holds results and cannot be renamed to '", archived, "': ", ec.message());
  if (via_link) {
    fs::create_directory(path, ec);
    SR_CHECK(!ec, what, " '", dir, "': its results were moved to '", archived, "', but the folder its link names, '",
             path, "', cannot be made again: ", ec.message());
  }
  return archived;
}

void check_output_folder_is_new(const std::string& dir, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) return;
  SR_CHECK(fs::is_directory(st), what, " '", dir, "' exists and is not a folder");
  size_t entries = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) ++entries;
  SR_CHECK(!ec, what, " '", dir, "': cannot list the folder: ", ec.message());
  SR_CHECK(entries == 0, what, " '", dir, "' is not empty (it holds ", entries,
           entries == 1 ? " file or folder" : " files or folders",
           "): the new results would mix with the old ones; give a new or empty folder, or remove it");
}

bool is_same_folder(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  return folder_key(a) == folder_key(b) || (fs::exists(a, ea) && fs::exists(b, eb) && fs::equivalent(a, b, ea));
}

void check_different_folders(const std::string& a, const std::string& a_what, const std::string& b,
                             const std::string& b_what) {
  SR_CHECK(!is_same_folder(a, b), a_what, " '", a, "' and ", b_what, " '", b,
           "' are the same folder: one would overwrite the other's files; give two different folders");
}

void check_output_is_not_an_input(const std::string& output, const std::vector<std::string>& inputs,
                                  const std::string& what) {
  const std::map<FileId, std::string> ids = input_ids(inputs);
  check_not_input(output, inputs.empty() ? "" : inputs[0], ids, what, "choose another output path");
}

}  // namespace sr::data

// write_file_atomically: mkstemp beside the target, fwrite, fflush, fsync, rename, fsync dir
// (the fsyncs only for Durability::durable).
#include "engine/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/error.h"

namespace sr {

namespace {

std::string reason() { return std::strerror(errno); }

// fsync of the folder makes the rename itself durable; some file systems refuse to open
// a folder for it, which is not worth failing a save over.
void sync_folder(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

// Where a write to `path` goes: the path itself when nothing or a regular file is there; the
// file a symbolic link names (so the link stays a link); an error for anything else, since
// renaming over a device (/dev/null), a FIFO or a folder would replace it with a plain file.
std::string resolve_write_target(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status link = fs::symlink_status(path, ec);
  if (!fs::exists(link)) return path;
  std::string target = path;
  if (fs::is_symlink(link)) {
    const fs::path resolved = fs::weakly_canonical(path, ec);
    SR_CHECK(!ec, "cannot write '", path, "': its symbolic link cannot be followed: ", ec.message());
    target = resolved.string();
  }
  const fs::file_status st = fs::status(target, ec);
  SR_CHECK(!fs::exists(st) || fs::is_regular_file(st), "cannot write '", path, "': it ",
           target == path ? "" : "names '" + target + "', which ",
           "exists and is not a regular file (a device, FIFO or folder): give another path");
  return target;
}

void write_file_atomically(const std::string& given, const std::function<void(std::FILE*)>& write,
                           Durability durability) {
  SR_CHECK(!given.empty(), "write_file_atomically: empty path");
  const bool durable = durability == Durability::durable;
  const std::string path = resolve_write_target(given);
  const std::filesystem::path target(path);
  std::string dir = target.parent_path().string();
  if (dir.empty()) dir = ".";
  SR_CHECK(std::filesystem::is_directory(dir), "cannot write '", path, "': folder '", dir,
           "' does not exist");
  std::string tmpl = dir + "/." + target.filename().string() + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  SR_CHECK(fd >= 0, "cannot write '", path, "': creating a temporary file in '", dir, "' failed: ",
           reason());
  const std::string tmp(name.data());
  // mkstemp creates the file 0600; give it the permissions a plain fopen would have.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  std::FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    const std::string why = reason();
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("cannot write '", path, "': fdopen failed: ", why);
  }
  try {
    write(f);
    SR_CHECK(!std::ferror(f), "write error: ", reason());
    SR_CHECK(std::fflush(f) == 0, "flush failed: ", reason());
    SR_CHECK(!durable || ::fsync(fd) == 0, "fsync failed: ", reason());
  } catch (const std::exception& e) {
    std::fclose(f);
    ::unlink(tmp.c_str());
    fail("cannot write '", path, "': ", e.what());
  }
  if (std::fclose(f) != 0) {
    const std::string why = reason();
    ::unlink(tmp.c_str());
    fail("cannot write '", path, "': close failed: ", why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = reason();
    ::unlink(tmp.c_str());
    fail("cannot write '", path, "': rename from '", tmp, "' failed: ", why);
  }
  if (durable) sync_folder(dir);
}

}  // namespace sr

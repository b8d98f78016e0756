// write_file_atomically: a temporary file beside the target, fwrite, fflush, fsync, rename, fsync dir
// (the fsyncs only for Durability::durable).
#include "engine/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>

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

// A new file <prefix>XXXXXX (6 random letters or digits, the name ExperimentLock's orphan
// clean-up knows), opened for writing; -1 with errno set when none can be made. It is
// created by open(O_EXCL) with mode 0666, so the kernel applies the umask as a plain fopen
// would: mkstemp makes 0600, and reading the umask to fix that means setting it, which races
// with every other thread that creates a file meanwhile (prepare writes from several).
int create_temporary(const std::string& prefix, std::string& name) {
  static std::atomic<uint64_t> counter{0};
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint64_t v = (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count() ^
                 ((uint64_t)::getpid() << 32) ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull);
    v ^= v >> 31;
    v *= 0xBF58476D1CE4E5B9ull;  // splitmix's finaliser: neighbouring counts give unrelated names
    v ^= v >> 29;
    name = prefix;
    for (int i = 0; i < 6; ++i, v /= 62) name += kLetters[v % 62];
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
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
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  SR_CHECK(std::filesystem::is_directory(dir), "cannot write '", path, "': folder '", dir,
           "' does not exist");
  std::string tmp;
  const int fd = create_temporary(dir + "/." + target.filename().string() + ".tmp.", tmp);
  SR_CHECK(fd >= 0, "cannot write '", path, "': creating a temporary file in '", dir, "' failed: ",
           reason());
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

void write_text_atomically(const std::string& path, const std::string& text, Durability durability) {
  write_file_atomically(
      path,
      [&](std::FILE* f) {
        if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) fail("short write: ", std::strerror(errno));
      },
      durability);
}

}  // namespace sr

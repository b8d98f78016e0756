// ExperimentLock (see experiment_lock.h).
#include "train/experiment_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "engine/error.h"

namespace sr::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = "experiment.lock";

// write_file_atomically's temporary names: "." + file name + ".tmp." + 6 characters.
bool is_orphan_temp_name(const std::string& name) {
  const size_t at = name.rfind(".tmp.");
  return name.size() > 1 && name[0] == '.' && at != std::string::npos && at > 1 && name.size() == at + 5 + 6;
}

}  // namespace

ExperimentLock::ExperimentLock(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  SR_CHECK(!ec, "experiment folder '", dir, "' cannot be created: ", ec.message());
  const std::string path = (fs::path(dir) / kLockName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SR_CHECK(fd_ >= 0, "experiment folder '", dir, "': cannot open the lock file '", path, "': ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char owner[64] = {0};
    const ssize_t n = ::pread(fd_, owner, sizeof owner - 1, 0);
    std::string who = n > 0 ? std::string(owner, (size_t)n) : std::string();
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      fail("experiment folder '", dir, "' is in use by another run (", who.empty() ? "pid unknown" : "pid " + who,
           ", holding ", path, "): two runs in one folder would overwrite each other's checkpoints and logs; wait "
           "for it to end, or give this run another name (--set name=...)");
    fail("experiment folder '", dir, "': cannot lock '", path, "': ", std::strerror(err));
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != (ssize_t)me.size()) {
    // The lock holds without the pid in it; only the other run's message is poorer.
  }
}

ExperimentLock::~ExperimentLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

int ExperimentLock::remove_orphan_temp_files() const {
  int removed = 0;
  for (const fs::path& sub : {fs::path(dir_), fs::path(dir_) / "models", fs::path(dir_) / "training_states"}) {
    std::error_code ec;
    if (!fs::is_directory(sub, ec)) continue;
    for (const auto& e : fs::directory_iterator(sub, ec)) {
      std::error_code type_ec;
      if (!e.is_regular_file(type_ec) || !is_orphan_temp_name(e.path().filename().string())) continue;
      std::error_code rm_ec;
      removed += fs::remove(e.path(), rm_ec) ? 1 : 0;
    }
  }
  return removed;
}

}  // namespace sr::train

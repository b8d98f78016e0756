// RegularFile (see regular_file.h): open(O_NONBLOCK) then fstat, so the type check and
// the read see the same file and a FIFO never blocks.
#include "engine/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.h"

namespace sr {

RegularFile::RegularFile(const std::string& path, const std::string& what) : path_(path), what_(what) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ENOENT) fail(where(), ": cannot open: no such file");
    fail(where(), ": cannot open: ", std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    fail(where(), ": cannot stat: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    if (S_ISDIR(st.st_mode)) fail(where(), ": is a folder, not a file");
    fail(where(), ": is not a regular file (a pipe, socket or device?)");
  }
  // Back to blocking reads (O_NONBLOCK only mattered for opening a FIFO).
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  size_ = (uint64_t)st.st_size;
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RegularFile::where() const { return what_.empty() ? path_ : what_ + " '" + path_ + "'"; }

void RegularFile::read_at(uint64_t offset, void* dst, size_t n) const {
  uint8_t* p = static_cast<uint8_t*>(dst);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd_, p + done, n - done, (off_t)(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(where(), ": read error: ", std::strerror(errno));
    if (r == 0) fail(where(), ": unexpected end of file at byte ", offset + done, " (the file shrank?)");
    done += (size_t)r;
  }
}

std::vector<uint8_t> RegularFile::read_all(uint64_t max_bytes) const {
  SR_CHECK(size_ <= max_bytes, where(), ": is ", size_, " bytes, over the limit of ", max_bytes);
  std::vector<uint8_t> bytes((size_t)size_);
  if (size_ > 0) read_at(0, bytes.data(), (size_t)size_);
  return bytes;
}

}  // namespace sr

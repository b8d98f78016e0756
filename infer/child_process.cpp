// Child processes with one pipe (see child_process.h).
#include "infer/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "engine/error.h"

extern char** environ;

namespace sr::infer {

std::string find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::string all = path;
  size_t start = 0;
  while (start <= all.size()) {
    const size_t end = all.find(':', start);
    std::string dir = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    const std::string full = dir + "/" + program;
    struct stat st;
    if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) return full;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, Pipe pipe) : name_(argv.at(0)) {
  int fds[2];
  SR_CHECK(::pipe2(fds, O_CLOEXEC) == 0, name_, ": cannot make a pipe: ", std::strerror(errno));
  // The child's end of the pipe becomes its stdin or stdout; the other standard stream is
  // /dev/null (stderr stays ours, so the program's own messages reach the user).
  const int child_end = pipe == Pipe::to_stdin ? fds[0] : fds[1];
  fd_ = pipe == Pipe::to_stdin ? fds[1] : fds[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (pipe == Pipe::to_stdin) {
    posix_spawn_file_actions_adddup2(&actions, child_end, STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, child_end, STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(child_end);
  if (rc != 0) {
    ::close(fd_);
    fd_ = -1;
    pid_ = -1;
    fail(name_, ": cannot start: ", std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  if (fd_ >= 0) ::close(fd_);
  if (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, &status, 0);
    }
  }
}

bool ChildProcess::read_exact(void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd_, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    SR_CHECK(r >= 0, name_, ": read failed: ", std::strerror(errno));
    if (r == 0) {
      SR_CHECK(got == 0, name_, ": its output ended part-way through a frame (", got, " of ", n, " bytes)");
      return false;
    }
    got += (size_t)r;
  }
  return true;
}

void ChildProcess::write_all(const void* buf, size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    // MSG_NOSIGNAL does not apply to pipes: the caller ignores SIGPIPE instead, so a child
    // that died shows as EPIPE here rather than killing this process.
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    SR_CHECK(w > 0, name_, ": stopped reading its input (", std::strerror(errno),
             "); its own message is printed above");
    p += w;
    n -= (size_t)w;
  }
}

void ChildProcess::finish() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  SR_CHECK(r > 0, name_, ": cannot wait for it: ", std::strerror(errno));
  SR_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, name_, " failed (",
           WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                             : "killed by signal " + std::to_string(WTERMSIG(status)),
           "); its own message is printed above");
}

}  // namespace sr::infer

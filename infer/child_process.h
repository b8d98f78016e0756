// A program run as a child process with a pipe to its stdin or from its stdout (ffmpeg for
// video I/O: infer/video.h). Started with posix_spawnp from an argument vector, never
// through a shell, so file names need no quoting. The child's stderr is the parent's.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace sr::infer {

// The full path of `program` found on $PATH, or "" when it is not there.
std::string find_program(const std::string& program);

class ChildProcess {
 public:
  enum class Pipe { to_stdin, from_stdout };
  // Starts argv[0] (looked up on $PATH) with a pipe on one side; the other side is /dev/null.
  ChildProcess(const std::vector<std::string>& argv, Pipe pipe);
  ~ChildProcess();  // closes the pipe and waits (a child still running is killed first)
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads exactly n bytes; false at a clean end of stream before the first byte; an error for
  // a stream that ends part-way.
  bool read_exact(void* buf, size_t n);
  void write_all(const void* buf, size_t n);
  // Closes the pipe (the child sees end of input) and waits: the exit status, or an error
  // naming the program when it did not exit with 0.
  void finish();

 private:
  std::string name_;
  pid_t pid_ = -1;
  int fd_ = -1;
};

}  // namespace sr::infer

// Crash-safe file replacement: the bytes go to a temporary file in the destination's
// folder, are flushed and fsynced, and only then renamed over the destination (and the
// folder fsynced), so a reader sees the old file or the new one, never a torn one.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace sr {

// Calls write(f) with a temporary FILE* beside `path`, then commits it as `path`.
// Any failure (including one thrown by `write` or a stream error) removes the temporary
// file and throws sr::Error naming `path` and the system's reason. A symbolic link is
// followed (the file it names is replaced, the link stays); a `path` that exists and is not
// a regular file (a device such as /dev/null, a FIFO, a folder) is refused, never replaced.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write);

}  // namespace sr

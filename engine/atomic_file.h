// Crash-safe file replacement: the bytes go to a temporary file in the destination's
// folder, are flushed (and, for durable writes, fsynced), and only then renamed over the
// destination, so a reader sees the old file or the new one, never a torn one.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace sr {

// How far a commit goes. durable: the file and then its folder are fsynced around the
// rename, so even a power loss leaves the old file or the complete new one (checkpoints,
// exported models, configs). replaced_on_success: no fsync. A failed write (a full disk, a
// file size limit, an encoder error) still never truncates or replaces the old file, but
// after a power loss the new file may come back empty. For images written by the thousand
// that a rerun makes again (prepare's sub-images, degrade's LQ images), where an fsync each
// would cost more than encoding them.
enum class Durability { durable, replaced_on_success };

// Calls write(f) with a temporary FILE* beside `path`, then commits it as `path`.
// Any failure (including one thrown by `write` or a stream error) removes the temporary
// file and throws sr::Error naming `path` and the system's reason. A symbolic link is
// followed (the file it names is replaced, the link stays); a `path` that exists and is not
// a regular file (a device such as /dev/null, a FIFO, a folder) is refused, never replaced.
void write_file_atomically(const std::string& path, const std::function<void(std::FILE*)>& write,
                           Durability durability = Durability::durable);

// write_file_atomically of `text` as it is; a short write is an error naming `path`.
void write_text_atomically(const std::string& path, const std::string& text,
                           Durability durability = Durability::durable);

// The file a write to `path` replaces, by the rules above: `path` itself when nothing or a
// regular file is there, the file a symbolic link names, an sr::Error for anything else.
// For writers that make their own temporary file beside it (data/image_row_writer.h).
std::string resolve_write_target(const std::string& path);

}  // namespace sr

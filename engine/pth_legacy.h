// Legacy torch.save checkpoints (PyTorch < 1.6, or _use_new_zipfile_serialization=False):
// torchvision's ImageNet weights, the original ESRGAN models, LPIPS's layers. The file is five
// pickles back to back, then the storages' raw bytes:
//   1. the magic number 0x1950a86a20f9469cfc6c   2. the protocol version 1001
//   3. sys_info {protocol_version, little_endian, type_sizes {short: 2, int: 4, long: 4}}
//   4. the object, whose storages are persistent ids ('storage', class, key, location, numel,
//      view_metadata)   5. the list of storage keys, in the order their data follows;
// then, per key, an 8-byte little-endian element count and the elements. Every pickle goes
// through the restricted unpickler (engine/torch_unpickler.h); the key list must name exactly
// the storages the object declares, each once; every count must equal the declared one and
// every storage must fit in what remains of the file, all checked before any tensor is
// allocated; the last storage must end the file.
#pragma once
#include <string>
#include <vector>

#include "engine/pth_archive.h"

namespace sr {

// The same contract as read_pth_archive: tensors into buffers from `allocate`, the non-tensor
// entries returned, every error an sr::Error naming source.name(). The pickles are read from
// the file's first bytes (at most options.max_pickle_bytes); each storage is then read once.
std::vector<std::string> read_pth_legacy(const ByteSource& source, const PthAllocate& allocate,
                                         const PthReadOptions& options = {});

}  // namespace sr

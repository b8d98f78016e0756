// The original ESRGAN repository's parameter names (xinntao/ESRGAN) as BasicSR's RRDBNet's, so
// its released files (RRDB_ESRGAN_x4.pth, RRDB_PSNR_x4.pth) load with no conversion step.
// Two namings exist:
//   2018 (nn.Sequential arch): model.0 = conv_first, model.1.sub.N.RDBk.convj.0 = body.N.rdbk.convj,
//     model.1.sub.<blocks> = conv_body, model.3 / .6 = conv_up1 / 2, model.8 = conv_hr, model.10 = conv_last
//   2019 (RRDBNet_arch.py): RRDB_trunk.N.RDBk.convj = body.N.rdbk.convj, trunk_conv = conv_body,
//     upconv1 / 2 = conv_up1 / 2, HRconv = conv_hr (conv_first, conv_last unchanged)
// The functions are the same (LeakyReLU 0.2, residuals scaled by 0.2, nearest x2 upsampling
// twice), so only names change.
#pragma once
#include <string>

#include "engine/safetensors.h"

namespace sr {

// Renames `tensors` in place when they use one of the two namings (told by
// model.1.sub.0.RDB1.conv1.0.weight or RRDB_trunk.0.RDB1.conv1.weight) and returns which
// ("ESRGAN 2018 names", ...); returns "" and changes nothing otherwise. A key of such a file
// with no BasicSR counterpart (another scale's layout) is an error naming `path` and the key.
std::string map_old_esrgan_names(NamedTensors& tensors, const std::string& path);

}  // namespace sr

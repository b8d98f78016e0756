// Video through the net: frames are decoded by an `ffmpeg` child process into raw RGB,
// upscaled one by one (tiled, as images), and piped into a second `ffmpeg` that encodes H.264
// (yuv420p) and copies the input's audio, as Real-ESRGAN's video script does. Nothing is
// linked against FFmpeg: the programs must be installed (Debian: apt-get install ffmpeg),
// and a clear error says so when they are not. Output rows stream into the encoder, so
// memory follows the tile, not the frame.
#pragma once
#include <functional>
#include <string>

#include "infer/upscale_file.h"
#include "layers/module.h"

namespace sr::infer {

// By extension: .mp4 .mkv .mov .avi .webm .m4v .flv .wmv .mpg .mpeg .ts (any case).
bool is_video_file_name(const std::string& path);

// An error naming `input` and how to install ffmpeg unless ffmpeg and ffprobe are on $PATH.
void check_ffmpeg_available(const std::string& input);

struct VideoInfo {
  int width = 0, height = 0;
  std::string frame_rate;  // as ffprobe gives it, e.g. "30000/1001"
};
VideoInfo probe_video(const std::string& input);

struct VideoResult {
  std::string output;
  int frames = 0, in_width = 0, in_height = 0, out_width = 0, out_height = 0;
};


// Upscales every frame of `input` into `output` (mp4, H.264 CRF `crf`, audio copied).
// Output sides are cut to even numbers (yuv420p needs them). `on_frame` is called after
// each frame with the count so far.
VideoResult upscale_video(Module& net, const std::string& input, const std::string& output, const FileOptions& opt,
                          int crf = 18, const std::function<void(int)>& on_frame = nullptr);

}  // namespace sr::infer

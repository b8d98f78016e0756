// Video frames through ffmpeg child processes (see video.h).
#include "infer/video.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <vector>

#include "data/image.h"
#include "engine/error.h"
#include "infer/child_process.h"

namespace sr::infer {

namespace fs = std::filesystem;

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = (char)std::tolower((unsigned char)c);
  return ext;
}

// SIGPIPE ignored while the object lives: an encoder that dies shows as a write error.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() { old_ = ::signal(SIGPIPE, SIG_IGN); }
  ~IgnoreSigpipe() { ::signal(SIGPIPE, old_); }

 private:
  void (*old_)(int);
};

}  // namespace

bool is_video_file_name(const std::string& path) {
  static const char* kExt[] = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".flv", ".wmv", ".mpg", ".mpeg", ".ts"};
  const std::string ext = lower_extension(path);
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* e) { return ext == e; });
}

void check_ffmpeg_available(const std::string& input) {
  std::string missing;
  for (const char* p : {"ffmpeg", "ffprobe"})
    if (find_program(p).empty()) missing += (missing.empty() ? "" : " and ") + std::string(p);
  SR_CHECK(missing.empty(), "video input '", input, "' needs the ", missing, " program",
           missing.find(" and ") != std::string::npos ? "s" : "", ", not found on PATH: install FFmpeg (Debian: "
           "apt-get install ffmpeg), or extract the frames as images and upscale the folder");
}

VideoInfo probe_video(const std::string& input) {
  ChildProcess probe({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                      "stream=width,height,r_frame_rate", "-of", "default=noprint_wrappers=1", input},
                     ChildProcess::Pipe::from_stdout);
  std::string text;
  char buf[4096];
  for (;;) {
    // The answer is a few lines: read it in small pieces until the end of the stream.
    size_t n = 0;
    while (n < sizeof buf) {
      if (!probe.read_exact(buf + n, 1)) break;
      ++n;
    }
    text.append(buf, n);
    if (n < sizeof buf) break;
  }
  probe.finish();
  VideoInfo v;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    try {
      if (key == "width") v.width = std::stoi(value);
      if (key == "height") v.height = std::stoi(value);
    } catch (const std::exception&) {
      fail("video '", input, "': ffprobe gave ", key, "=", value);
    }
    if (key == "r_frame_rate") v.frame_rate = value;
  }
  SR_CHECK(v.width > 0 && v.height > 0, "video '", input, "': no video stream (ffprobe said: '", text, "')");
  SR_CHECK(!v.frame_rate.empty() && v.frame_rate != "0/0", "video '", input, "': no frame rate (ffprobe said: '",
           text, "')");
  return v;
}

VideoResult upscale_video(Module& net, const std::string& input, const std::string& output, const FileOptions& opt,
                          int crf, const std::function<void(int)>& on_frame) {
  check_ffmpeg_available(input);
  const VideoInfo info = probe_video(input);
  VideoResult r{output, 0, info.width, info.height, 0, 0};
  int full_w = 0, full_h = 0;
  output_size(info.width, info.height, net_scale(net), opt.outscale, full_w, full_h, opt.tile.spelling);
  r.out_width = full_w & ~1;
  r.out_height = full_h & ~1;
  SR_CHECK(r.out_width >= 2 && r.out_height >= 2, "video '", input, "': output of ", full_w, "x", full_h,
           " is too small for H.264");
  IgnoreSigpipe ignore_sigpipe;
  // -noautorotate: frames keep the coded size ffprobe reported (a phone video's rotation
  // flag is not applied, and not carried to the output either).
  ChildProcess decoder({"ffmpeg", "-v", "error", "-nostdin", "-noautorotate", "-i", input, "-map", "0:v:0", "-f",
                        "rawvideo", "-pix_fmt", "rgb24", "-"},
                       ChildProcess::Pipe::from_stdout);
  const std::string size = std::to_string(r.out_width) + "x" + std::to_string(r.out_height);
  ChildProcess encoder({"ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-r",
                        info.frame_rate, "-i", "-", "-i", input, "-map", "0:v:0", "-map", "1:a?", "-c:v", "libx264",
                        "-crf", std::to_string(crf), "-pix_fmt", "yuv420p", "-c:a", "copy", output},
                       ChildProcess::Pipe::to_stdin);
  const size_t frame_bytes = (size_t)info.width * info.height * 3;
  std::vector<uint8_t> frame(frame_bytes), row((size_t)r.out_width * 3);
  while (decoder.read_exact(frame.data(), frame_bytes)) {
    data::Image img(info.width, info.height, 3, 8);
    for (size_t i = 0; i < frame_bytes; ++i) img.pixels[i] = frame[i] / 255.0f;
    int y = 0;
    upscale_image_rows(net, std::move(img), opt, 8, [&](const float* rows, int n) {
      for (int k = 0; k < n; ++k, ++y) {
        if (y >= r.out_height) continue;  // the odd last row, cut for yuv420p
        const float* s = rows + (size_t)k * full_w * 3;
        for (size_t i = 0; i < row.size(); ++i) {
          SR_CHECK(std::isfinite(s[i]), "video '", input, "': the net gave a non-finite value in frame ", r.frames + 1);
          row[i] = data::quantize_u8(s[i]);
        }
        encoder.write_all(row.data(), row.size());
      }
    });
    ++r.frames;
    if (on_frame) on_frame(r.frames);
  }
  decoder.finish();
  encoder.finish();
  SR_CHECK(r.frames > 0, "video '", input, "': no frames were decoded");
  return r;
}

}  // namespace sr::infer

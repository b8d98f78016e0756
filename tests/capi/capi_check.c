/* A C program using srengine through its C API only (include/srengine/srengine.h), as an
 * application would: error paths, then two upscales whose raw results it writes for
 * tests/test_capi.cpp to compare with the library.
 *   capi_check CONFIG WEIGHTS OUT_PREFIX
 * writes OUT_PREFIX.rgba8 (13x11 RGBA 8-bit, x4, tile 8) and OUT_PREFIX.gray16 (9x7 gray
 * 16-bit, outscale 2.5). Exit status 0 when every check passed. */
#include <srengine/srengine.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define EXPECT(cond)                                                                \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      fprintf(stderr, "capi_check: %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, \
              #cond, srengine_last_error());                                        \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

static int write_file(const char* prefix, const char* ext, const void* data, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s.%s", prefix, ext);
  FILE* f = fopen(path, "wb");
  if (!f) return -1;
  const size_t w = fwrite(data, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: capi_check CONFIG WEIGHTS OUT_PREFIX\n");
    return 2;
  }
  EXPECT(strlen(srengine_version()) > 0);

  srengine_options o;
  srengine_options_init(&o);
  EXPECT(o.tile == 0 && o.tile_pad == 10 && o.pre_pad == 0 && o.tta == 0 && o.denoise_strength < 0);

  /* Failures come back as NULL / -1 with a message. */
  o.model_name = "RealESRGAN_x4pls";
  EXPECT(srengine_open(&o) == NULL);
  EXPECT(strstr(srengine_last_error(), "unknown model name") != NULL);
  o.model_name = "RealESRGAN_x4plus";
  o.model_dir = "/nonexistent";
  EXPECT(srengine_open(&o) == NULL);
  EXPECT(strstr(srengine_last_error(), "RealESRGAN_x4plus.pth") != NULL);
  EXPECT(srengine_open(NULL) == NULL);
  EXPECT(srengine_scale(NULL) == -1);
  /* Errors name the options as srengine_options spells them, not as srengine infer's flags. */
  srengine_options_init(&o);
  o.config = argv[1];
  o.model_name = "RealESRGAN_x4plus";
  EXPECT(srengine_open(&o) == NULL);
  EXPECT(strstr(srengine_last_error(), "give a model name (model_name) or config, not both") != NULL);
  EXPECT(strstr(srengine_last_error(), "--") == NULL);
  o.model_name = NULL;
  o.weights = argv[2];
  o.pre_pad = -2;
  EXPECT(srengine_open(&o) == NULL);
  EXPECT(strstr(srengine_last_error(), "pre_pad must be >= 0, got -2") != NULL);
  EXPECT(strstr(srengine_last_error(), "--") == NULL);

  srengine_options_init(&o);
  o.config = argv[1];
  o.weights = argv[2];
  o.device = "cpu";
  o.tile = 8;
  srengine_upscaler* u = srengine_open(&o);
  EXPECT(u != NULL);
  if (!u) return 1;
  EXPECT(srengine_scale(u) == 4);
  EXPECT(srengine_set_tile(u, -1, 4) == -1);
  EXPECT(strstr(srengine_last_error(), "tile must be >= 0") != NULL);
  EXPECT(strstr(srengine_last_error(), "--") == NULL);
  EXPECT(srengine_set_tile(u, 8, -3) == -1);
  EXPECT(strstr(srengine_last_error(), "tile_pad must be >= 0, got -3") != NULL);
  EXPECT(srengine_set_device(u, "cuda:7") == -1);

  /* RGBA 8-bit, x4; the source rows padded to 64 bytes, the output rows to 4 extra bytes. */
  enum { W = 13, H = 11, SRC_STRIDE = 64 };
  uint8_t src[H * SRC_STRIDE];
  for (int i = 0; i < H * SRC_STRIDE; ++i) src[i] = (uint8_t)((i * 37 + 11) % 251);
  int ow = 0, oh = 0;
  EXPECT(srengine_output_size(u, W, H, 0, &ow, &oh) == 0 && ow == 4 * W && oh == 4 * H);
  EXPECT(srengine_output_size(u, W, H, 0.01, &ow, &oh) == -1);
  EXPECT(strstr(srengine_last_error(), "outscale 0.01 makes the 13x11 image") != NULL);
  EXPECT(strstr(srengine_last_error(), "--") == NULL);
  EXPECT(srengine_output_size(u, W, H, 0, &ow, &oh) == 0);
  const size_t dst_stride = (size_t)ow * 4 + 4;
  uint8_t* dst = (uint8_t*)calloc((size_t)oh * dst_stride, 1);
  EXPECT(srengine_upscale(u, src, W, H, SRC_STRIDE, 4, 8, 0, dst, dst_stride) == 0);
  EXPECT(srengine_upscale(u, src, W, H, 10, 4, 8, 0, dst, dst_stride) == -1); /* stride < row */
  EXPECT(strstr(srengine_last_error(), "src_stride") != NULL);
  uint8_t* packed = (uint8_t*)malloc((size_t)ow * oh * 4);
  for (int y = 0; y < oh; ++y) memcpy(packed + (size_t)y * ow * 4, dst + (size_t)y * dst_stride, (size_t)ow * 4);
  EXPECT(write_file(argv[3], "rgba8", packed, (size_t)ow * oh * 4) == 0);
  free(packed);
  free(dst);

  /* Gray 16-bit, outscale 2.5 (the net's x4, then Lanczos-4). */
  enum { GW = 9, GH = 7 };
  uint16_t gray[GW * GH];
  for (int i = 0; i < GW * GH; ++i) gray[i] = (uint16_t)((i * 7919u + 3u) % 65536u);
  EXPECT(srengine_output_size(u, GW, GH, 2.5, &ow, &oh) == 0 && ow == 22 && oh == 17);
  uint16_t* gout = (uint16_t*)malloc((size_t)ow * oh * 2);
  EXPECT(srengine_set_tile(u, 0, 10) == 0);
  EXPECT(srengine_upscale(u, gray, GW, GH, GW * 2, 1, 16, 2.5, gout, (size_t)ow * 2) == 0);
  EXPECT(write_file(argv[3], "gray16", gout, (size_t)ow * oh * 2) == 0);

  /* The same in fp16 (Real-ESRGAN's half); unknown names refused. */
  EXPECT(srengine_set_precision(u, "fp8") == -1);
  EXPECT(strstr(srengine_last_error(), "srengine_set_precision") != NULL);
  EXPECT(srengine_set_precision(u, NULL) == -1);
  EXPECT(strstr(srengine_last_error(), "NULL") != NULL);
  EXPECT(srengine_set_precision(u, "fp16") == 0);
  EXPECT(srengine_upscale(u, gray, GW, GH, GW * 2, 1, 16, 2.5, gout, (size_t)ow * 2) == 0);
  EXPECT(write_file(argv[3], "gray16_fp16", gout, (size_t)ow * oh * 2) == 0);
  free(gout);

  srengine_close(u);
  srengine_close(NULL);
  if (failures) fprintf(stderr, "capi_check: %d check(s) failed\n", failures);
  return failures ? 1 : 0;
}

/* srengine's C API: open a super-resolution model (a released Real-ESRGAN model by name, or a
 * weights file) and upscale RGB(A) or gray 8/16-bit pixel buffers with it, tiled and blended
 * in bounded memory. Link with -lsrengine (pkg-config srengine). Every call that can fail
 * returns NULL or a negative number and leaves a message for srengine_last_error(); nothing
 * aborts or exits. One srengine_upscaler may be used by one thread at a time; separate
 * upscalers may run in separate threads. The API is stable within a major version:
 * srengine_options may only grow at its end, and srengine_options_init sets every field.
 */
#ifndef SRENGINE_SRENGINE_H
#define SRENGINE_SRENGINE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SRENGINE_API __attribute__((visibility("default")))
#else
#define SRENGINE_API
#endif

/* Counts additions within the major version (each keeps every earlier call as it was):
 * 2 added srengine_set_precision. */
#define SRENGINE_API_VERSION 2

typedef struct srengine_upscaler srengine_upscaler;

typedef struct srengine_options {
  const char* model_name; /* a released model ("RealESRGAN_x4plus", ...), or NULL */
  const char* weights;    /* a weights file (.pth or .safetensors); with model_name it replaces the lookup */
  const char* config;     /* a config whose network_g is the architecture (with weights), or NULL */
  const char* model_dir;  /* where model_name's file is looked for before $SRENGINE_MODELS; NULL: "weights" */
  const char* device;     /* "cpu", "cuda", "cuda:N"; NULL: CUDA when available, else the CPU */
  int tile;               /* core tile side in input pixels; 0: whole image (default) */
  int tile_pad;           /* context and blend width per tile (default 10) */
  int pre_pad;            /* reflect padding around the image (default 0) */
  int tta;                /* nonzero: 8-way flip/rotate ensemble */
  int alpha_by_net;       /* nonzero: alpha through the net as gray; zero: bicubic (default) */
  double denoise_strength; /* realesr-general-x4v3's -dn; negative: its default (0.5) */
} srengine_options;

/* The defaults above. */
SRENGINE_API void srengine_options_init(srengine_options* options);

/* "0.1.0" */
SRENGINE_API const char* srengine_version(void);

/* The calling thread's last error message ("" when none). Valid until the thread's next call. */
SRENGINE_API const char* srengine_last_error(void);

/* Builds the net and loads its weights. NULL on failure (srengine_last_error says why: an
 * unknown model name, a missing weights file with where to get it, mismatched tensors, ...). */
SRENGINE_API srengine_upscaler* srengine_open(const srengine_options* options);
/* Frees the upscaler (NULL is a no-op). A closed upscaler must not be passed to any call again. */
SRENGINE_API void srengine_close(srengine_upscaler* upscaler);

/* The net's upscaling factor (1, 2, 3, 4 or 8), or -1. */
SRENGINE_API int srengine_scale(const srengine_upscaler* upscaler);

/* Tiling for later calls (as srengine_options). 0 on success, -1 on a bad value. */
SRENGINE_API int srengine_set_tile(srengine_upscaler* upscaler, int tile, int tile_pad);

/* Moves the net to "cpu", "cuda" or "cuda:N". 0 on success, -1 (e.g. no GPU, or a device
 * that cannot run the upscaler's precision: bf16 on a CPU without AVX512-BF16). */
SRENGINE_API int srengine_set_device(srengine_upscaler* upscaler, const char* device);

/* The convolutions' precision for later calls: "default" (float32 on the CPU, TF32 tensor cores
 * on CUDA), "fp32", "tf32", "bf16" (the CPU's fast path where it has AVX512-BF16) or "fp16"
 * (Real-ESRGAN's half; on the CPU operands rounded to fp16, no faster). Images and the other
 * ops stay float32. 0 on success, -1 (an unknown name, or one the device cannot run). */
SRENGINE_API int srengine_set_precision(srengine_upscaler* upscaler, const char* precision);

/* The output size for a width x height input: the net's scale, or with outscale > 0
 * (Real-ESRGAN's --outscale: net scale, then a Lanczos-4 resize) (int)(width * outscale) x
 * (int)(height * outscale). 0 on success, -1 on a bad size or outscale.
 * Size limits: the input with the upscaler's pre_pad on every side, (width + 2 pre_pad) x
 * (height + 2 pre_pad), at most 100000000 pixels (tiled or not: the input is held whole, as
 * float); each output side below 1000000000 pixels. This call refuses exactly the sizes that
 * srengine_upscale refuses for size, with the same message, and srengine_upscale refuses them
 * before allocating anything, so either can be used to check first. */
SRENGINE_API int srengine_output_size(const srengine_upscaler* upscaler, int width, int height, double outscale,
                                      int* out_width, int* out_height);

/* Upscales `src` (height rows of width pixels, `channels` interleaved samples each: 1 gray,
 * 2 gray+alpha, 3 RGB, 4 RGBA; bit_depth 8 (uint8) or 16 (uint16, host byte order); rows
 * src_stride bytes apart) into `dst` (the same channels and bit depth, srengine_output_size's
 * size, rows dst_stride bytes apart). outscale 0 keeps the net's scale. 0 on success, -1. */
SRENGINE_API int srengine_upscale(srengine_upscaler* upscaler, const void* src, int width, int height,
                                  size_t src_stride, int channels, int bit_depth, double outscale, void* dst,
                                  size_t dst_stride);

#ifdef __cplusplus
}
#endif

#endif /* SRENGINE_SRENGINE_H */

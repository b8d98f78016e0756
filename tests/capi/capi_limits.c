/* The C API's size limits, through the C API alone: srengine_output_size refuses exactly what
 * srengine_upscale refuses for size, with the same message naming the size, the scale or
 * pre_pad, and the limit; and srengine_upscale refuses before allocating anything: each of its
 * refusals runs in a child process whose address space may grow by only 64 MB (the sizes below
 * would need gigabytes), so an allocation before the check fails the check.
 *   capi_limits CONFIG WEIGHTS      (an x4 net)
 * Exit status 0 when every check passed. */
#define _GNU_SOURCE
#include <srengine/srengine.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;

typedef struct {
  int w, h;
  double outscale;
  int pre_pad;
  const char* want; /* a part of the message */
} Refused;

static const Refused kRefused[] = {
    /* Each output side below 1e9, at the net's own scale too (x4 of these overflowed an int). */
    {INT_MAX, 1, 0, 0, "the 2147483647x1 image at x4 makes an output of 8589934588x4 pixels; each side must be below "
                       "1000000000"},
    {1073741825, 1, 0, 0, "makes an output of 4294967300x4 pixels"},
    {536870912, 1, 0, 0, "makes an output of 2147483648x4 pixels"},
    {600000000, 600000000, 0, 0, "makes an output of 2400000000x2400000000 pixels"},
    {400000000, 3, 4.5, 0, "at x4.5 makes an output of 1800000000x13 pixels"},
    {100, 100, 1e300, 0, "each side must be below 1000000000"},
    {1, 1, 0.5, 0, "less than one pixel"},
    /* The input with its pre_pad: at most 1e8 pixels, tiled or not (held whole as float). */
    {100000001, 1, 0, 0, "the 100000001x1 image has 100000001 pixels, over the limit of 100000000"},
    {20000, 20000, 0, 0, "the 20000x20000 image has 400000000 pixels, over the limit of 100000000"},
    {9000, 9000, 0, 1000, "a pre-pad of 1000 makes the 9000x9000 image 11000x11000 = 121000000 pixels"},
};

/* Sizes within every limit, and what srengine_output_size gives for them. */
static const struct {
  int w, h;
  double outscale;
  int pre_pad, out_w, out_h;
} kAccepted[] = {
    {100000000, 1, 0, 0, 400000000, 4},
    {10000, 10000, 0, 0, 40000, 40000},
    {9000, 9000, 0, 500, 36000, 36000}, /* 10000x10000 with the pre-pad: exactly the limit */
    {99999999, 1, 9.9, 0, 989999990, 9},
};

static srengine_upscaler* open_with_pre_pad(const char* config, const char* weights, int pre_pad) {
  srengine_options o;
  srengine_options_init(&o);
  o.config = config;
  o.weights = weights;
  o.device = "cpu";
  o.pre_pad = pre_pad;
  srengine_upscaler* u = srengine_open(&o);
  if (!u) {
    fprintf(stderr, "capi_limits: cannot open the net: %s\n", srengine_last_error());
    exit(1);
  }
  return u;
}

/* The process's address space now, in bytes (Linux: /proc/self/statm's first field). */
static unsigned long long address_space_bytes(void) {
  unsigned long long pages = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%llu", &pages) != 1) pages = 0;
  if (f) fclose(f);
  return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* srengine_upscale on case c in a child capped at 64 MB more address space: it must return -1
 * with `message`. src and dst are a few bytes: a refusal comes before any pixel is touched. */
static void check_upscale_refuses(srengine_upscaler* u, const Refused* c, const char* message) {
  static unsigned char src[16], dst[16];
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "capi_limits: fork failed\n");
    ++failures;
    return;
  }
  if (pid == 0) {
    const unsigned long long now = address_space_bytes();
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max = (rlim_t)(now + (64ull << 20));
    if (now == 0 || setrlimit(RLIMIT_AS, &lim) != 0) {
      fprintf(stderr, "capi_limits: cannot cap the address space\n");
      _exit(3);
    }
    const int r = srengine_upscale(u, src, c->w, c->h, (size_t)c->w, 1, 8, c->outscale, dst, SIZE_MAX);
    if (r != -1 || strcmp(srengine_last_error(), message) != 0) {
      fprintf(stderr, "capi_limits: srengine_upscale %dx%d outscale %g pre_pad %d returned %d: '%s', not '%s'\n",
              c->w, c->h, c->outscale, c->pre_pad, r, srengine_last_error(), message);
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "capi_limits: the srengine_upscale child for %dx%d %s %d\n", c->w, c->h,
            WIFSIGNALED(status) ? "died of signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status)
                                                                                        : WEXITSTATUS(status));
    ++failures;
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: capi_limits CONFIG WEIGHTS\n");
    return 2;
  }
  srengine_upscaler* by_pre_pad[1001] = {NULL};
  for (size_t i = 0; i < sizeof kRefused / sizeof kRefused[0]; ++i) {
    const Refused* c = &kRefused[i];
    if (!by_pre_pad[c->pre_pad]) by_pre_pad[c->pre_pad] = open_with_pre_pad(argv[1], argv[2], c->pre_pad);
    srengine_upscaler* u = by_pre_pad[c->pre_pad];
    int ow = -7, oh = -7;
    const int r = srengine_output_size(u, c->w, c->h, c->outscale, &ow, &oh);
    char message[1024];
    snprintf(message, sizeof message, "%s", srengine_last_error());
    if (r != -1 || !strstr(message, c->want)) {
      fprintf(stderr, "capi_limits: srengine_output_size %dx%d outscale %g pre_pad %d returned %d (%dx%d): '%s', "
              "wanted -1 and '%s'\n", c->w, c->h, c->outscale, c->pre_pad, r, ow, oh, message, c->want);
      ++failures;
    }
    check_upscale_refuses(u, c, message);
  }
  for (size_t i = 0; i < sizeof kAccepted / sizeof kAccepted[0]; ++i) {
    const int pre = kAccepted[i].pre_pad;
    if (!by_pre_pad[pre]) by_pre_pad[pre] = open_with_pre_pad(argv[1], argv[2], pre);
    int ow = -7, oh = -7;
    const int r = srengine_output_size(by_pre_pad[pre], kAccepted[i].w, kAccepted[i].h, kAccepted[i].outscale, &ow,
                                       &oh);
    if (r != 0 || ow != kAccepted[i].out_w || oh != kAccepted[i].out_h) {
      fprintf(stderr, "capi_limits: srengine_output_size %dx%d outscale %g pre_pad %d gave %d (%dx%d: %s), wanted "
              "%dx%d\n", kAccepted[i].w, kAccepted[i].h, kAccepted[i].outscale, pre, r, ow, oh,
              srengine_last_error(), kAccepted[i].out_w, kAccepted[i].out_h);
      ++failures;
    }
  }
  for (int p = 0; p <= 1000; ++p) srengine_close(by_pre_pad[p]);
  if (failures) fprintf(stderr, "capi_limits: %d check(s) failed\n", failures);
  return failures ? 1 : 0;
}

// Times an ONNX model in ONNX Runtime's CPU provider: the peer of `srengine bench train
// --stage infer` in tools/bench_vs_ort.sh (same model, input shape and thread count).
//   node tools/ort/bench_model.js MODEL.onnx N C H W THREADS ITERS WARMUP
// Prints one JSON object: {"median_ms": ..., "min_ms": ..., "iters": ...}. The input is
// uniform in [0, 1) (the timing does not depend on the values).
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 8) throw new Error('usage: bench_model.js MODEL.onnx N C H W THREADS ITERS WARMUP');
  const [model, ...nums] = argv;
  const [n, c, h, w, threads, iters, warmup] = nums.map(Number);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const data = new Float32Array(n * c * h * w);
  for (let i = 0; i < data.length; ++i) data[i] = Math.random();
  const feeds = {input: new ort.Tensor('float32', data, [n, c, h, w])};
  const times = [];
  for (let i = 0; i < warmup + iters; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= warmup) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  const median = times.length % 2 ? times[m] : 0.5 * (times[m - 1] + times[m]);
  console.log(JSON.stringify({median_ms: median, min_ms: times[0], iters: times.length}));
}

main().catch((e) => {
  console.error('bench_model.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});

// Runs an ONNX model in ONNX Runtime's CPU provider on a raw float32 NCHW file: the peer the
// onnx/ tests (tests/test_onnx_export.cpp) compare srengine's exports against.
//   node tools/ort/run_model.js MODEL.onnx IN.f32 N C H W OUT.f32
// Writes OUT.f32 (raw little-endian float32) and prints "shape N C H W" of the output.
// onnxruntime-node is installed into tools/ort/node_modules by tools/setup.sh.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 7) throw new Error('usage: run_model.js MODEL.onnx IN.f32 N C H W OUT.f32');
  const [model, inPath, n, c, h, w, outPath] = argv;
  const dims = [n, c, h, w].map(Number);
  const bytes = fs.readFileSync(inPath);
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) throw new Error(`${inPath}: ${bytes.length} bytes, expected ${count * 4}`);
  // A copy: a Buffer's offset in its pool need not be 4-byte aligned, a Float32Array's must.
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = bytes.readFloatLE(4 * i);
  // One thread: ctest runs tests side by side, and the result must not depend on the split.
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const result = await session.run({input: new ort.Tensor('float32', data, dims)});
  const y = result.output;
  if (!y || y.type !== 'float32') throw new Error('the model has no float32 output named "output"');
  const out = Buffer.alloc(y.data.length * 4);
  for (let i = 0; i < y.data.length; ++i) out.writeFloatLE(y.data[i], 4 * i);
  fs.writeFileSync(outPath, out);
  console.log('shape ' + y.dims.join(' '));
}

main().catch((e) => {
  console.error('run_model.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});

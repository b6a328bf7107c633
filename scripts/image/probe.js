// The HTTP half of scripts/image/test.sh: talks KServe v2 JSON to a server in a container and fails on a wrong answer.
//   node scripts/image/probe.js ready URL TIMEOUT_S   wait for /v2/health/ready, print the milliseconds it took
//   node scripts/image/probe.js infer URL             /v2/health/live, then infer on simple (ONNX), string_upper
//                                                     (ONNX, BYTES), simple_chain (ensemble of simple twice) and
//                                                     add_sub (Python backend)
// Plain fetch (Node 20+) rather than the repository's client: it runs before and without a build of the project.
'use strict';

async function waitReady(base, timeoutSeconds) {
  const start = Date.now();
  for (;;) {
    try {
      const response = await fetch(`${base}/v2/health/ready`);
      if (response.status === 200) return Date.now() - start;
    } catch {
      // Not listening yet.
    }
    if (Date.now() - start > timeoutSeconds * 1000) throw new Error(`${base} not ready after ${timeoutSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function infer(base, model, inputs) {
  const response = await fetch(`${base}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`${model}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

function expectOutput(model, body, name, expected, tolerance = 0) {
  const output = body.outputs.find((candidate) => candidate.name === name);
  if (!output) throw new Error(`${model}: no ${name} in ${JSON.stringify(body)}`);
  const wrong = expected.findIndex((value, i) => !(Math.abs(output.data[i] - value) <= tolerance));
  if (output.data.length !== expected.length || wrong !== -1) {
    throw new Error(`${model}: ${name} = ${JSON.stringify(output.data)}, expected ${JSON.stringify(expected)}`);
  }
  console.log(`${model} v${body.model_version}: ${name} = [${output.data.join(',')}] ok`);
}

async function checkLive(base) {
  const response = await fetch(`${base}/v2/health/live`);
  if (response.status !== 200) throw new Error(`/v2/health/live: HTTP ${response.status}`);
  console.log('/v2/health/live: 200 ok');
}

async function checkInfer(base) {
  await checkLive(base);
  const a = Array.from({ length: 16 }, (_, i) => i * 3 - 7);
  const b = Array.from({ length: 16 }, (_, i) => 100 - i * i);
  const simple = await infer(base, 'simple', [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: b },
  ]);
  expectOutput('simple', simple, 'OUTPUT0', a.map((x, i) => x + b[i]));
  expectOutput('simple', simple, 'OUTPUT1', a.map((x, i) => x - b[i]));

  // BYTES through the ONNX Runtime worker: the image's Node (24) once refused to move these tensors to the worker while
  // Node 20, which runs npm test, did not.
  const words = ['hello', 'World', 'x y'];
  const upper = await infer(base, 'string_upper', [{ name: 'INPUT0', datatype: 'BYTES', shape: [3], data: words }]);
  const upperOut = upper.outputs.find((candidate) => candidate.name === 'OUTPUT0');
  const expectedUpper = words.map((word) => word.toUpperCase());
  if (JSON.stringify(upperOut?.data) !== JSON.stringify(expectedUpper)) {
    throw new Error(`string_upper: ${JSON.stringify(upper)}, expected OUTPUT0 = ${JSON.stringify(expectedUpper)}`);
  }
  console.log(`string_upper v${upper.model_version}: OUTPUT0 = ${JSON.stringify(upperOut.data)} ok`);

  // simple_chain feeds simple's sum and difference into simple again: (a+b)+(a-b) = 2a, (a+b)-(a-b) = 2b.
  const chain = await infer(base, 'simple_chain', [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: b },
  ]);
  expectOutput('simple_chain', chain, 'OUTPUT0', a.map((x) => 2 * x));
  expectOutput('simple_chain', chain, 'OUTPUT1', b.map((x) => 2 * x));

  // add_sub's numpy runs in a python3 stub process: this answer proves python3 and numpy work in the image.
  const x = [0.5, -1.25, 3, 1e6];
  const y = [2, 0.25, -3, 1];
  const addSub = await infer(base, 'add_sub', [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: x },
    { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: y },
  ]);
  expectOutput('add_sub', addSub, 'OUTPUT0', x.map((v, i) => v + y[i]), 1e-6);
  expectOutput('add_sub', addSub, 'OUTPUT1', x.map((v, i) => v - y[i]), 1e-6);
}

async function main([mode, base, timeout]) {
  if (mode === 'ready') console.log(await waitReady(base, Number(timeout ?? 120)));
  else if (mode === 'infer') await checkInfer(base);
  else throw new Error('usage: probe.js ready URL TIMEOUT_S | infer URL');
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`probe: ${error.message}`);
  process.exit(1);
});

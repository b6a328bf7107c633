/**
 * The floor for bench:resnet's requests: node:http doing only what any server must do with a 602 KB binary-extension
 * request — read the body into one buffer sized from Content-Length (as server/protocol/http/body-reader.ts does),
 * find the tensor after the JSON header, and answer a binary-extension response of `[1, 1000]` FP32 (its bytes taken
 * from the image, so nothing is pre-encoded but the JSON header). No model, no worker, no validation.
 *
 * With an engine time, requests are answered as one engine serving them in turn would (each waits for those before
 * it, then `engineMs`), by timers, spending no CPU: the server then sees requests at a model's rate, where Node's
 * per-request cost is higher than flat out (each body arrives on an idle event loop, chunk by chunk).
 *
 *   node dist/bench/lib/bare-image-server.js <port> [engineMs] [fastRequests]
 */
import * as http from 'node:http';
import { HOST } from './processes';
import { RESNET18_CLASSES } from './resnet18';

const OUTPUT_BYTES = RESNET18_CLASSES * 4;
const RESPONSE_HEADER = Buffer.from(
  JSON.stringify({
    model_name: 'resnet18',
    model_version: '1',
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [1, RESNET18_CLASSES], parameters: { binary_data_size: OUTPUT_BYTES } }],
  }),
);

function answer(body: Buffer, headerLength: number, response: http.ServerResponse): void {
  if (!(headerLength > 0) || body.length < headerLength + OUTPUT_BYTES) {
    response.writeHead(400, { 'content-length': '0' });
    response.end();
    return;
  }
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': RESPONSE_HEADER.length + OUTPUT_BYTES,
    'inference-header-content-length': RESPONSE_HEADER.length,
  });
  response.end(Buffer.concat([RESPONSE_HEADER, body.subarray(headerLength, headerLength + OUTPUT_BYTES)]));
}

/** `fastRequests`: that many first requests are answered at once (bench:resnet's JIT warm-up, flat out). */
export function bareImageServer(engineMs = 0, fastRequests = 0): http.Server {
  let engineFreeAt = 0;
  let served = 0;
  const reply = (body: Buffer, headerLength: number, response: http.ServerResponse) => {
    served += 1;
    if (engineMs <= 0 || served <= fastRequests) return answer(body, headerLength, response);
    const now = performance.now();
    engineFreeAt = Math.max(now, engineFreeAt) + engineMs;
    setTimeout(answer, engineFreeAt - now, body, headerLength, response);
  };
  return http.createServer((request, response) => {
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-length': '0' }); // the ready check
      response.end();
      request.resume();
      return;
    }
    const declared = Number(request.headers['content-length']);
    const body = Buffer.allocUnsafe(Number.isSafeInteger(declared) && declared > 0 ? declared : 0);
    let received = 0;
    request.on('data', (chunk: Buffer) => {
      chunk.copy(body, received);
      received += chunk.length;
    });
    request.on('end', () => reply(body.subarray(0, received), Number(request.headers['inference-header-content-length']), response));
  });
}

if (require.main === module) {
  process.on('SIGTERM', () => process.exit(0));
  bareImageServer(Number(process.argv[3] ?? 0), Number(process.argv[4] ?? 0)).listen(Number(process.argv[2]), HOST);
}

/**
 * bench:grpc --bare's servers (bench/lib/baseline-servers.ts): node:http and node:http2 answering `simple`
 * pre-encoded. The rows are only a fair ceiling if both answers are real ones, read by the same clients the
 * benchmark uses: undici's InferenceServerClient (HTTP binary) and the grpc-h2 generator (ModelInferResponse).
 */
import type { AddressInfo } from 'node:net';
import * as http2 from 'node:http2';
import { InferenceServerClient, InferInput } from '../../client';
import { buildInferRequest, decodeInferResponse } from '../../client/grpc';
import { grpcFrame, grpcH2Call } from '../../bench/lib/grpc-h2';
import { bareBinaryServer, bareGrpcServer } from '../../bench/lib/baseline-servers';
import { deserializeInferResponse, serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_INFER_PATH } from '../../server/protocol/grpc/lean-infer';

const inputs = () => [
  InferInput.fromTypedArray('INPUT0', Int32Array.from({ length: 16 }, (_, i) => i), [1, 16]),
  InferInput.fromTypedArray('INPUT1', new Int32Array(16).fill(1), [1, 16]),
];
const SUM = Array.from({ length: 16 }, (_, i) => i + 1);
const DIFFERENCE = Array.from({ length: 16 }, (_, i) => i - 1);

function listening<T extends { listen(port: number, host: string, callback: () => void): unknown; address(): unknown }>(server: T): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

it('node:http answers an HTTP binary request with simple’s outputs', async () => {
  const server = bareBinaryServer();
  const client = new InferenceServerClient({ url: `127.0.0.1:${await listening(server)}` });
  try {
    const result = await client.infer('simple', inputs());
    expect(Array.from(result.asTypedArray('OUTPUT0') as Int32Array)).toEqual(SUM);
    expect(Array.from(result.asTypedArray('OUTPUT1') as Int32Array)).toEqual(DIFFERENCE);
  } finally {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

it('node:http2 answers a ModelInfer call with OK trailers and simple’s outputs, many calls on one connection', async () => {
  const server = bareGrpcServer();
  const session = http2.connect(`http://127.0.0.1:${await listening(server)}`);
  try {
    const frame = grpcFrame(serializeInferRequest(buildInferRequest('simple', inputs())));
    const results = await Promise.all(Array.from({ length: 8 }, () => grpcH2Call(session, MODEL_INFER_PATH, [frame])));
    for (const result of results) {
      expect({ status: result.status, details: result.details, messages: result.messages.length }).toEqual({ status: 0, details: 'OK', messages: 1 });
      const decoded = decodeInferResponse(deserializeInferResponse(result.messages[0]));
      expect(decoded.outputs.map((output) => [output.name, Array.from(output.data as Int32Array)])).toEqual([
        ['OUTPUT0', SUM],
        ['OUTPUT1', DIFFERENCE],
      ]);
    }
  } finally {
    await new Promise<void>((resolve) => session.close(() => resolve()));
    await new Promise((resolve) => server.close(resolve));
  }
});

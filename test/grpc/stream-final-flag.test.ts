/**
 * ModelStreamInfer's `triton_final_response` is set on the message encoded for the wire, not on a copy of the response:
 * the bytes must be those of the response with the flag spread into its parameters (what the server sent before), and
 * the response the model handed over must stay as it is (frozen here: a write to it would fail the call). Both gRPC
 * paths (grpc-js and the lean one) run the same handler.
 */
import * as http2 from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcFrame, grpcH2Call } from '../../bench/lib/grpc-h2';
import type { InferStreamEvent, InferStreamListener } from '../../server/core/streaming';
import type { InferRequest, InferResponse } from '../../server/core/types';
import { encodeInferResponse } from '../../server/protocol/grpc/codec';
import { serializeInferRequest, serializeStreamInferResponse } from '../../server/protocol/grpc/infer-wire';
import { MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { simpleRawRequest, startServer, StartedServer } from './helpers';

/** The wire bytes of `response` flagged as before: a copy with the flag spread into its parameters. */
function flaggedBytes(response: InferResponse, final: boolean): Buffer {
  const flagged = { ...response, parameters: { ...response.parameters, triton_final_response: final } };
  return serializeStreamInferResponse({ error_message: '', infer_response: encodeInferResponse(flagged) });
}

/** `response` and its parameters frozen (its outputs' data cannot be: typed arrays with elements). */
function frozen(response: InferResponse): InferResponse {
  if (response.parameters) Object.freeze(response.parameters);
  return Object.freeze(response);
}

const output = (values: number[]) => ({ name: 'OUTPUT0', datatype: 'INT32' as const, shape: [1, values.length], data: Int32Array.from(values) });

describe.each([false, true])('ModelStreamInfer final flag (lean path: %s)', (lean) => {
  let server: StartedServer;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    server = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcLeanInfer: lean });
    expect(server.app.grpc!.leanInferActive).toBe(lean);
    session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  });
  afterAll(async () => {
    session?.close();
    await server?.app.stop();
  });

  /** Runs `play` as the service's inferStream for one call of `request`; the call's messages and status. */
  async function streamed(request: ReturnType<typeof simpleRawRequest>, play: (request: InferRequest, listener: InferStreamListener) => Promise<void>) {
    const spy = jest.spyOn(server.app.service, 'inferStream').mockImplementation(play);
    try {
      const result = await grpcH2Call(session, MODEL_STREAM_INFER_PATH, [grpcFrame(serializeInferRequest(request))]);
      expect(result.status).toBe(GrpcStatus.OK);
      return result.messages;
    } finally {
      spy.mockRestore();
    }
  }

  it("writes the model's real response flagged, byte for byte, without touching it", async () => {
    const service = server.app.service;
    const original = service.inferStream.bind(service);
    const seen: InferResponse[] = [];
    const messages = await streamed(simpleRawRequest('real'), (request, listener) =>
      original(request, (event, final) => {
        const passed: InferStreamEvent | undefined = event && 'response' in event ? { response: frozen(event.response) } : event;
        if (passed && 'response' in passed) seen.push(passed.response);
        listener(passed, final);
      }),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0].parameters?.triton_final_response).toBeUndefined();
    expect(messages).toEqual([flaggedBytes(seen[0], true)]);
  });

  it('flags each response of a decoupled stream in place of its parameters, and the empty final one, byte for byte', async () => {
    // A response that has parameters, one of them of the flag's name (the flag takes its place, as spreading did).
    const parameters = { a: 1, triton_final_response: 'x', s: 'str', big: 2n ** 63n };
    const first = frozen({ model: 'simple', version: '1', id: 'd', parameters, outputs: [output([1, 2])] });
    const second = frozen({ model: 'simple', version: '1', id: 'd', outputs: [output([3])] });
    const request = { ...simpleRawRequest('d'), parameters: { triton_enable_empty_final_response: { bool_param: true } } };
    const messages = await streamed(request, async (_request, listener) => {
      listener({ response: first }, false);
      listener({ response: second }, false);
      listener(undefined, true);
    });
    expect(messages).toEqual([flaggedBytes(first, false), flaggedBytes(second, false), flaggedBytes({ ...second, outputs: [] }, true)]);
    expect(Object.entries(first.parameters!)).toEqual([['a', 1], ['triton_final_response', 'x'], ['s', 'str'], ['big', 2n ** 63n]]);
    expect(second.parameters).toBeUndefined();
  });
});

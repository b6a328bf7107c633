/**
 * --http-header-forward-pattern / --grpc-header-forward-pattern against the real server: matching headers (gRPC
 * metadata) become string parameters of the inference request the facade receives, as Triton adds them to its
 * request; reserved names are refused with Triton's text. The facade's own infer / inferStream are watched (spied,
 * still run) to see the request the frontends built.
 */
import * as grpc from '@grpc/grpc-js';
import { parseCli } from '../../server/cli';
import { headerForwardPattern } from '../../server/core/header-forwarding';
import type { InferRequest } from '../../server/core/types';
import { firstStreamReply, metadataOf, simpleRawRequest } from '../grpc/helpers';
import { httpRequest, simpleInputs } from '../http/helpers';
import { serverForSuite } from './suite-server';

const server = serverForSuite({ loadModels: ['simple'], httpHeaderForwardPattern: '^x-app-|priority', grpcHeaderForwardPattern: 'tenant|triton_' });

afterEach(() => jest.restoreAllMocks());

/** The requests the facade is handed while `body` runs. */
async function requestsSeen(method: 'infer' | 'inferStream', body: () => Promise<unknown>): Promise<InferRequest[]> {
  const spy = jest.spyOn(server.app.service, method);
  await body();
  return spy.mock.calls.map((call) => call[0]);
}

const inferBody = JSON.stringify({ inputs: simpleInputs(), parameters: { own: 'kept' } });
const httpInfer = (headers: Record<string, string>) =>
  httpRequest(server.httpPort, { method: 'POST', url: '/v2/models/simple/infer', payload: inferBody, headers });

it('HTTP: headers matching the pattern (any case, name as sent) become string parameters; others do not', async () => {
  const [request] = await requestsSeen('infer', async () => {
    expect((await httpInfer({ 'X-App-Tenant': 'acme', 'x-app-n': '42', 'x-other': 'no' })).statusCode).toBe(200);
  });
  expect(request.parameters).toEqual({ own: 'kept', 'X-App-Tenant': 'acme', 'x-app-n': '42' });
});

it('HTTP: a reserved name is refused with Triton\'s text', async () => {
  const response = await httpInfer({ priority: '1' });
  expect([response.statusCode, response.json()]).toEqual([400, { error: "Header 'priority' is reserved for Triton usage and cannot be forwarded." }]);
});

it('gRPC: ModelInfer forwards matching metadata; a reserved key is refused', async () => {
  const [request] = await requestsSeen('infer', () =>
    new Promise((resolve, reject) =>
      server.client.ModelInfer(simpleRawRequest(), metadataOf({ 'tenant-id': 'acme', 'x-unrelated': 'no' }), (e: Error | null, v: unknown) => (e ? reject(e) : resolve(v))),
    ),
  );
  expect(request.parameters).toEqual({ 'tenant-id': 'acme' });
  const error = await new Promise<grpc.ServiceError>((resolve) =>
    server.client.ModelInfer(simpleRawRequest(), metadataOf({ triton_x: '1' }), (e: grpc.ServiceError) => resolve(e)),
  );
  expect([error.code, error.details]).toEqual([grpc.status.INVALID_ARGUMENT, "Header 'triton_x' is reserved for Triton usage and cannot be forwarded."]);
});

it('gRPC: every request of a ModelStreamInfer stream gets the stream\'s matching metadata', async () => {
  const [request] = await requestsSeen('inferStream', async () => {
    expect((await firstStreamReply(server.client, simpleRawRequest(), metadataOf({ 'tenant-id': 'acme' }))).error_message).toBe('');
  });
  expect(request.parameters).toEqual({ 'tenant-id': 'acme' });
});

it("patterns are case-insensitive unless they start with RE2's (?-i), as Triton's", () => {
  expect(headerForwardPattern('my_header.*').test('MY_HEADER_1')).toBe(true);
  expect(headerForwardPattern('(?i)my_header').test('MY_HEADER')).toBe(true);
  expect(headerForwardPattern('(?-i)MY_HEADER.*').test('my_header_1')).toBe(false);
  expect(headerForwardPattern('(?-i)MY_HEADER.*').test('MY_HEADER_1')).toBe(true);
});

it('the flags take a regular expression; a bad one is refused', () => {
  expect(parseCli(['--model-repository=/m', '--http-header-forward-pattern=^x-']).httpHeaderForwardPattern).toBe('^x-');
  expect(() => parseCli(['--model-repository=/m', '--grpc-header-forward-pattern=('])).toThrow(
    /Bad option: "--grpc-header-forward-pattern".\ninvalid regular expression/,
  );
});

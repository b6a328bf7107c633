/**
 * A gRPC call cancels its request only when the client really goes (grpc-js path). grpc-js 1.14 emits 'cancelled'
 * after every status it sends, success included; taken as a client gone, it cancelled what a request left running
 * (an ensemble's sibling steps of a failed one: CANCELED failures on the composing model, is_cancelled() in Python).
 * grpc-js emits it on a process.nextTick after the status goes out, so it has run before the client can read the
 * status over loopback: checking the signal once the client has the answer needs no wait.
 */
import type * as grpc from '@grpc/grpc-js';
import type { CancelSignal } from '../../server/core/cancellation';
import { Errors } from '../../server/core/errors';
import type { InferRequest } from '../../server/core/types';
import { serverForSuite } from '../server/suite-server';
import { simpleRawRequest, unary, unaryError } from './helpers';

const server = serverForSuite({ loadModels: ['simple'] });

/** Records the signal of every request the service is asked to infer (the real service still answers). */
function recordSignals<M extends 'infer' | 'inferStream'>(method: M) {
  const signals: CancelSignal[] = [];
  const service = server.app.service;
  const original = service[method].bind(service) as (...args: unknown[]) => Promise<unknown>;
  const spy = jest.spyOn(service, method).mockImplementation(((request: InferRequest, ...rest: unknown[]) => {
    signals.push(request.signal!);
    return original(request, ...rest);
  }) as never);
  return { signals, spy };
}

it('ModelInfer: neither an answered call nor a failed one cancels its request', async () => {
  const { signals, spy } = recordSignals('infer');
  try {
    await unary(server.client, 'ModelInfer', simpleRawRequest('ok'));
    // A failure of the model (not of the request's form): it reaches the service, then the error status goes out.
    spy.mockImplementationOnce((request) => {
      signals.push(request.signal!);
      return Promise.reject(Errors.modelNotFound('simple'));
    });
    const error = await unaryError(server.client, 'ModelInfer', simpleRawRequest('fails'));
    expect(error.details).toBe("Request for unknown model: 'simple' is not found");
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false]);
  } finally {
    spy.mockRestore();
  }
});

it('ModelInfer: a call the client cancels before the answer cancels its request', async () => {
  let seen: (signal: CancelSignal) => void = () => undefined;
  const reached = new Promise<CancelSignal>((resolve) => (seen = resolve));
  const infer = jest.spyOn(server.app.service, 'infer').mockImplementationOnce(
    (request) =>
      new Promise((_resolve, reject) => {
        request.signal!.addEventListener('abort', () => reject(Errors.requestCancelled(request.id)));
        seen(request.signal!);
      }),
  );
  try {
    const call = (server.client.ModelInfer as (r: unknown, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall).call(
      server.client,
      simpleRawRequest('gone'),
      () => undefined,
    );
    const signal = await reached;
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', resolve));
    call.cancel();
    await aborted;
    expect(signal.aborted).toBe(true);
  } finally {
    infer.mockRestore();
  }
});

it('ModelStreamInfer: a stream that ends after its answers does not cancel its requests', async () => {
  const { signals, spy } = recordSignals('inferStream');
  try {
    const stream = (server.client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, { error_message: string }>).call(server.client);
    const replies: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (reply: { error_message: string }) => replies.push(reply.error_message));
      stream.on('status', () => resolve());
      stream.on('error', reject);
    });
    stream.write(simpleRawRequest('a'));
    stream.write(simpleRawRequest('b'));
    stream.end();
    await ended;
    expect(replies).toEqual(['', '']);
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false]);
  } finally {
    spy.mockRestore();
  }
});

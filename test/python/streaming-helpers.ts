/** Shared by the BLS and decoupled suites: a repository with the example and probe models, stream readers. */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { rawClient, RawClient } from '../grpc/helpers';
import type { TestResponse } from '../http/helpers';
import { PYTHON_EXAMPLES, scratchRepository } from './helpers';

export function streamingRepository(): string {
  return scratchRepository([
    { from: path.join(PYTHON_EXAMPLES, 'add_sub'), name: 'add_sub' },
    { from: path.join(PYTHON_EXAMPLES, 'bls_add_sub'), name: 'bls_add_sub' },
    { from: path.join(PYTHON_EXAMPLES, 'repeat'), name: 'repeat' },
    'stream_probe',
    'bls_stream',
  ]);
}

/** Every event of a `text/event-stream` body: the JSON of each `data:` line. */
export function sseEvents(response: TestResponse): Record<string, unknown>[] {
  expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  return response.body
    .split('\n\n')
    .filter((chunk) => chunk.trim() !== '')
    .map((chunk) => {
      expect(chunk.startsWith('data: ')).toBe(true);
      return JSON.parse(chunk.slice('data: '.length)) as Record<string, unknown>;
    });
}

/** Send requests on one ModelStreamInfer call, end it, and collect every message the server wrote. */
export async function streamInfer(port: number, requests: unknown[]): Promise<any[]> {
  const client: RawClient = rawClient(port);
  try {
    const call = (client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, any>).call(client);
    const messages: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (message: unknown) => messages.push(message));
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (const request of requests) call.write(request);
    call.end();
    await done;
    return messages;
  } finally {
    client.close();
  }
}

export function int32Contents(values: number[]): Buffer {
  return Buffer.from(Int32Array.from(values).buffer);
}

export function int32sFrom(bytes: Uint8Array): number[] {
  const copy = new Uint8Array(bytes);
  return Array.from(new Int32Array(copy.buffer, 0, copy.length / 4));
}

/** A gRPC request with raw contents for the repeat model. */
export function repeatRequest(id: string, values: number[], extra: Record<string, unknown> = {}) {
  return {
    model_name: 'repeat',
    id,
    inputs: [{ name: 'IN', datatype: 'INT32', shape: [values.length] }],
    raw_input_contents: [int32Contents(values)],
    ...extra,
  };
}

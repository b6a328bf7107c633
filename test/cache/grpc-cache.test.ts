/** The response cache over gRPC: raw and typed contents of the same tensors share an entry; ModelStatistics counts it. */
import { int32sOf, ONES_16, RANGE_16, simpleRawRequest, simpleTypedRequest, unary } from '../grpc/helpers';
import { serverForSuite } from '../server/suite-server';
import { cacheRepository } from './cache-fixture';

const server = serverForSuite(() => ({
  modelRepositories: [cacheRepository()],
  allowMetrics: false,
  responseCache: { implementation: 'local', byteSize: 1 << 20 },
}));

interface Duration {
  count: string;
  ns: string;
}
async function statistics(model = 'simple') {
  const response = await unary<{ model_stats: { execution_count: string; inference_stats: Record<string, Duration> }[] }>(
    server.client,
    'ModelStatistics',
    { name: model, version: '' },
  );
  const s = response.model_stats[0];
  const count = (key: string) => Number(s.inference_stats[key].count);
  return { hits: count('cache_hit'), misses: count('cache_miss'), success: count('success'), executions: Number(s.execution_count), hitNs: Number(s.inference_stats.cache_hit.ns) };
}

it('answers raw_input_contents and typed contents of the same tensors from one entry', async () => {
  const before = await statistics();
  const raw = await unary(server.client, 'ModelInfer', simpleRawRequest('raw'));
  const typed = await unary(server.client, 'ModelInfer', simpleTypedRequest('typed'));
  expect(int32sOf(raw.raw_output_contents[0])).toEqual(RANGE_16.map((v) => v + 1));
  expect(typed.id).toBe('typed');
  // Triton answers in raw_output_contents either way; the hit carries the same values.
  expect(int32sOf(typed.raw_output_contents[0])).toEqual(RANGE_16.map((v) => v + 1));
  expect(int32sOf(typed.raw_output_contents[1])).toEqual(RANGE_16.map((v) => v - 1));
  const after = await statistics();
  expect(after.misses - before.misses).toBe(1);
  expect(after.hits - before.hits).toBe(1);
  expect(after.success - before.success).toBe(2);
  expect(after.executions - before.executions).toBe(1);
  expect(after.hitNs).toBeGreaterThan(before.hitNs);
});

it('misses for a different request, and reports cache statistics only for models that cache', async () => {
  const before = await statistics();
  const request = simpleRawRequest('other');
  request.raw_input_contents[1] = Buffer.from(Int32Array.from(ONES_16.map((v) => v + 1)).buffer);
  const response = await unary(server.client, 'ModelInfer', request);
  expect(int32sOf(response.raw_output_contents[0])).toEqual(RANGE_16.map((v) => v + 2));
  const after = await statistics();
  expect(after.misses - before.misses).toBe(1);
  expect(after.hits - before.hits).toBe(0);
  await unary(server.client, 'ModelInfer', { ...simpleRawRequest('plain'), model_name: 'simple_plain' });
  await unary(server.client, 'ModelInfer', { ...simpleRawRequest('plain'), model_name: 'simple_plain' });
  const plain = await statistics('simple_plain');
  expect(plain).toMatchObject({ hits: 0, misses: 0, success: 2, executions: 2 });
});

/**
 * routes.test.ts again, every server it starts with the opt-in fast infer path (server/protocol/http/fast-infer.ts) in
 * front of fastify: plain infer requests must be answered exactly as the fastify route answers them.
 */
import { fastInferAnswered, httpPathUnderTest } from './helpers';

httpPathUnderTest.fastInfer = true;
// The suite reads the flag above when its servers start (in its beforeAll).
import './routes.test';

it('took the fast path for plain infer requests', () => {
  expect(fastInferAnswered()).toBeGreaterThan(0);
});

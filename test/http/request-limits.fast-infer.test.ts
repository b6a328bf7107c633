/**
 * request-limits.test.ts again, every server it starts with the opt-in fast infer path (server/protocol/http/fast-infer.ts)
 * in front of fastify. Its requests (bodies over the limit, compressed or chunked ones, stalled clients) are the ones
 * the fast path must leave to fastify or answer identically: the suite's own expectations are the check.
 */
import { httpPathUnderTest } from './helpers';

httpPathUnderTest.fastInfer = true;
// The suite reads the flag above when its servers start (in its beforeAll).
import './request-limits.test';

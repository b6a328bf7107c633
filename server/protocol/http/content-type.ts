/**
 * Triton labels every JSON answer `application/json`, with no charset parameter, and clients written for it compare
 * the header exactly. Fastify appends `; charset=utf-8` to JSON bodies it sends; this puts Triton's label back.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const FASTIFY_JSON = 'application/json; charset=utf-8';
const TRITON_JSON = 'application/json';

export function installTritonContentType(app: FastifyInstance): void {
  app.addHook('onSend', (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    if (reply.getHeader('content-type') === FASTIFY_JSON) reply.header('content-type', TRITON_JSON);
    done(null, payload);
  });
}

/**
 * Draining the HTTP frontend on shutdown without losing a request (node:http has no graceful drain that spares
 * keep-alive clients, so this tracks connections itself):
 *  - begin(): the listener stays open; every response from now on carries `Connection: close`, so each keep-alive
 *    connection ends right after its in-flight (or next) response; new requests that change state (every POST:
 *    infer, load, register, ...) answer 503 "Server is stopping", reads (health, metadata) answer as usual.
 *  - close(timeout): waits until every connection has ended and none has come for IDLE_CLOSE_MS (a client whose
 *    connection just closed after a response reconnects for its next request within that, and gets its 503 instead
 *    of a refused connection). A connection with no request in progress and nothing received for IDLE_CLOSE_MS is
 *    closed: its client has gone quiet, so it is not in the middle of sending (closing idle connections at once, as
 *    Node's closeIdleConnections does, resets clients whose next request is already on its way). Then the listener
 *    closes, last. Whatever is left at the timeout is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Errors } from '../../core/errors';

/** How long a connection with nothing in progress must stay silent before the drain closes it. */
export const IDLE_CLOSE_MS = 500;
/** How often the drain looks for connections to close. */
const SWEEP_MS = 50;

interface ConnectionState {
  /** Requests received and not yet answered. */
  active: number;
  /** When the last response finished (or the connection opened), and how many bytes had been read then. */
  idleSince: number;
  bytesAtIdle: number;
  /** The connection's latest response: the one the drain marks `Connection: close` if it began while it was running. */
  latest?: ServerResponse;
}

/**
 * Connection: close, on a response whose headers are not written yet. Set on the raw response (node:http merges it
 * into fastify's headers), not in an onSend hook: a hook would cost every request something, drain or not.
 */
function closeAfter(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('connection', 'close');
}

export class HttpDrain {
  private draining = false;
  private readonly connections = new Map<Socket, ConnectionState>();
  /** When the last connection opened or closed. */
  private lastConnectionChange = Date.now();

  constructor(private readonly app: FastifyInstance) {
    // First hook: during the drain nothing else runs for a refused request.
    app.addHook('onRequest', (request, _reply, done) => {
      done(this.draining && request.method === 'POST' ? Errors.serverShuttingDown() : undefined);
    });
    app.server.on('connection', (socket: Socket) => {
      this.lastConnectionChange = Date.now();
      this.connections.set(socket, { active: 0, idleSince: Date.now(), bytesAtIdle: 0 });
      socket.once('close', () => {
        this.connections.delete(socket);
        this.lastConnectionChange = Date.now();
      });
    });
    // Before fastify's own listener, so that a response fastify completes at once still gets the header.
    app.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
      if (this.draining) closeAfter(response);
      const state = this.connections.get(request.socket);
      if (!state) return;
      state.active += 1;
      state.latest = response;
      response.on('close', () => {
        state.active -= 1;
        state.idleSince = Date.now();
        state.bytesAtIdle = request.socket.bytesRead;
      });
    });
  }

  /** Start refusing new work; keep listening. Responses still to be written, from now on, close their connections. */
  begin(): void {
    if (this.draining) return;
    this.draining = true;
    this.app.inferFastPath?.stop(); // its requests go to fastify, whose hooks refuse them
    for (const state of this.connections.values()) if (state.active > 0 && state.latest) closeAfter(state.latest);
  }

  /** Open connections now. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Wait (at most `timeoutMs`) for the connections to end as described above, then close the listener. */
  async close(timeoutMs: number): Promise<void> {
    this.begin();
    const deadline = Date.now() + timeoutMs;
    const quiet = () => this.connections.size === 0 && Date.now() - this.lastConnectionChange >= IDLE_CLOSE_MS;
    while (!quiet() && Date.now() < deadline) {
      this.closeQuietConnections();
      await new Promise((resolve) => setTimeout(resolve, SWEEP_MS));
    }
    // Listener last. A connection accepted in the meantime still gets its answer, within the deadline.
    const closed = this.app.close();
    const cut = setTimeout(() => this.app.server.closeAllConnections(), Math.max(0, deadline - Date.now()));
    try {
      await closed;
    } finally {
      clearTimeout(cut);
    }
  }

  private closeQuietConnections(): void {
    const now = Date.now();
    for (const [socket, state] of this.connections) {
      const silent = state.active === 0 && socket.bytesRead === state.bytesAtIdle && now - state.idleSince >= IDLE_CLOSE_MS;
      if (silent) socket.destroy();
    }
  }
}

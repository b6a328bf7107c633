/**
 * clientGoneSignal (server/protocol/http/client-gone.ts) on a plain node:http server: a request is cancelled when its
 * client goes before its response ended, a pipelined one queued behind another response included (its response is
 * not on the socket yet, so only the socket says the client is gone), and never once its response has finished.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { CancelSignal } from '../../server/core/cancellation';
import { clientGoneSignal } from '../../server/protocol/http/client-gone';

interface Handled {
  readonly signal: CancelSignal;
  readonly response: http.ServerResponse;
}

/** A server whose handler records each request's signal and answers only when the test says so. */
async function recordingServer() {
  const handled: Handled[] = [];
  const serverSockets: net.Socket[] = [];
  let waiter: (() => void) | undefined;
  let wanted = 0;
  const server = http.createServer((_request, response) => {
    handled.push({ signal: clientGoneSignal(response), response });
    if (waiter && handled.length >= wanted) waiter();
  });
  // Node's own 'close' listeners on a new connection (its connection listener runs before this one).
  let closeListenersAtConnection = 0;
  server.on('connection', (socket: net.Socket) => {
    serverSockets.push(socket);
    closeListenersAtConnection = socket.listenerCount('close');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const arrived = (count: number) =>
    handled.length >= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wanted = count;
          waiter = resolve;
        });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    handled,
    arrived,
    serverSockets,
    get closeListenersAtConnection() {
      return closeListenersAtConnection;
    },
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

/** Destroys the client's socket and resolves once the server has seen it close and its close handlers have run. */
async function dropClient(client: net.Socket, serverSocket: net.Socket): Promise<void> {
  const closed = new Promise<void>((resolve) => serverSocket.once('close', () => setImmediate(resolve)));
  client.destroy();
  await closed;
}

let fixture: Awaited<ReturnType<typeof recordingServer>>;
beforeEach(async () => {
  fixture = await recordingServer();
});
afterEach(async () => {
  fixture.server.closeAllConnections();
  await new Promise((resolve) => fixture.server.close(resolve));
});

it('cancels the request being answered and a pipelined one queued behind it when the client goes', async () => {
  const client = await connect(fixture.port);
  client.on('error', () => undefined);
  client.write(GET('/first') + GET('/second'));
  await fixture.arrived(2);
  expect(fixture.handled.map(({ signal }) => signal.aborted)).toEqual([false, false]);
  await dropClient(client, fixture.serverSockets[0]);
  expect(fixture.handled.map(({ signal }) => signal.aborted)).toEqual([true, true]);
});

it('never cancels a request whose response finished, also when the connection closes afterwards', async () => {
  const client = await connect(fixture.port);
  client.on('error', () => undefined);
  const replies: Buffer[] = [];
  const twoReplies = new Promise<void>((resolve) =>
    client.on('data', (chunk: Buffer) => {
      replies.push(chunk);
      if (Buffer.concat(replies).toString().split('HTTP/1.1 200').length === 3) resolve();
    }),
  );
  client.write(GET('/first') + GET('/second'));
  await fixture.arrived(2);
  const socket = fixture.serverSockets[0];
  // Answered in order: the queued second response goes out after the first.
  const finished = fixture.handled.map(({ response }) => new Promise((resolve) => response.once('finish', resolve)));
  for (const { response } of fixture.handled) response.end('ok');
  await Promise.all([twoReplies, ...finished]);
  // The queued response's listener on the socket is gone once it finished: a kept-alive socket gathers none.
  expect(socket.listenerCount('close')).toBe(fixture.closeListenersAtConnection);
  await dropClient(client, fixture.serverSockets[0]);
  expect(fixture.handled.map(({ signal }) => signal.aborted)).toEqual([false, false]);
});

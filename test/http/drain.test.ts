/**
 * The HTTP drain on stop(): the listener stays open while clients are connected; POSTs answer 503 "Server is stopping",
 * reads answer as usual, every response carries `Connection: close`; an idle keep-alive connection is closed only
 * after it stayed silent, and the listener closes last.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { httpPathOptions, MODEL_REPOSITORY } from './helpers';

function request(agent: http.Agent, port: number, method: string, path: string): Promise<{ status: number; connection?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP drain on stop()', () => {
  let server: InferenceServerApp;
  let port: number;
  beforeAll(async () => {
    server = createInferenceServer({
      modelRepositories: [MODEL_REPOSITORY], httpPort: 0, host: '127.0.0.1', allowGrpc: false, loadModels: ['simple'], ...httpPathOptions(),
    });
    port = (await server.start()).httpPort!;
  });

  it('keeps answering while connected clients go: 503 + Connection: close for POSTs, reads as usual', async () => {
    const agents = [0, 1, 2].map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    // Three idle keep-alive connections open when the stop begins.
    for (const agent of agents) expect((await request(agent, port, 'GET', '/v2/health/live')).connection).toBe('keep-alive');
    // A client in the middle of sending a request (headers not finished): the drain must wait for it, whatever the time.
    const sending = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => sending.once('connect', resolve));
    sending.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      sending.on('data', (chunk) => (text += chunk));
      sending.on('close', () => resolve(text));
    });
    const stopped = server.stop();
    let stopDone = false;
    void stopped.then(() => (stopDone = true));

    const infer = await request(agents[0], port, 'POST', '/v2/models/simple/infer');
    expect(infer).toEqual({ status: 503, connection: 'close', body: JSON.stringify({ error: 'Server is stopping, request is refused' }) });
    const load = await request(agents[1], port, 'POST', '/v2/repository/models/simple/load');
    expect(load.status).toBe(503);
    const live = await request(agents[2], port, 'GET', '/v2/health/live');
    expect(live).toMatchObject({ status: 200, connection: 'close' });
    const ready = await request(new http.Agent({ keepAlive: true }), port, 'GET', '/v2/health/ready'); // a new connection
    expect(ready).toMatchObject({ status: 400, connection: 'close' });
    expect(stopDone).toBe(false);

    sending.write('\r\n'); // its request completes: answered, then closed
    const raw = await answer;
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    await stopped;
    await expect(request(new http.Agent(), port, 'GET', '/v2/health/live')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    for (const agent of agents) agent.destroy();
  });
});

/**
 * gRPC over TLS (Triton's --grpc-use-ssl, --grpc-use-ssl-mutual) with certificates made for the test by the openssl
 * command (a CA, a server certificate for localhost / 127.0.0.1, a client certificate, and a client certificate from
 * another CA), against the frontend and against the real command.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { inferenceServiceDefinition } from '../../server/protocol/grpc/proto';
import { startCli } from '../server/cli-process';
import { MODEL_REPOSITORY, RawClient, simpleRawRequest, startServer, StartedServer, unary } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-tls-'));
const file = (name: string) => path.join(dir, name);
const pem = (name: string) => fs.readFileSync(file(name));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA `<name>-ca`, and certificates it signs: `<name>-<cert>.crt` / `.key`. */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`,
    '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`);
}

function makeCert(ca: string, cert: string, extensions: string): void {
  fs.writeFileSync(file(`${cert}.ext`), `${extensions}\n`);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cert}`, '-keyout', `${cert}.key`, '-out', `${cert}.csr`);
  openssl('x509', '-req', '-in', `${cert}.csr`, '-CA', `${ca}-ca.crt`, '-CAkey', `${ca}-ca.key`, '-CAcreateserial', '-days', '2',
    '-extfile', `${cert}.ext`, '-out', `${cert}.crt`);
}

beforeAll(() => {
  makeCa('test');
  makeCa('other');
  makeCert('test', 'server', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  makeCert('test', 'client', 'extendedKeyUsage=clientAuth');
  makeCert('other', 'stranger', 'extendedKeyUsage=clientAuth');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const Client = grpc.makeGenericClientConstructor(inferenceServiceDefinition() as grpc.ServiceDefinition, 'GRPCInferenceService');

function tlsClient(port: number, clientCert?: string): RawClient {
  const credentials = clientCert
    ? grpc.credentials.createSsl(pem('test-ca.crt'), pem(`${clientCert}.key`), pem(`${clientCert}.crt`))
    : grpc.credentials.createSsl(pem('test-ca.crt'));
  // The certificate names localhost: checked against that name, the connection still goes to 127.0.0.1.
  return new Client(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' }) as RawClient;
}

function plainClient(port: number): RawClient {
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as RawClient;
}

/** The call's failure code (fails the test when the call succeeds). */
async function failure(client: RawClient): Promise<grpc.status> {
  try {
    await unary(client, 'ServerLive', {});
  } catch (error) {
    return (error as grpc.ServiceError).code;
  }
  throw new Error('ServerLive succeeded over a connection that should have been refused');
}

async function using<T>(client: RawClient, body: (client: RawClient) => Promise<T>): Promise<T> {
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

describe('server TLS (--grpc-use-ssl)', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({ loadModels: ['simple'], allowHttp: false, grpcTls: { certChain: pem('server.crt'), privateKey: pem('server.key') } });
  });
  afterAll(() => server?.app.stop());

  it('serves a client that trusts the CA, inference included', async () => {
    await using(tlsClient(server.grpcPort), async (client) => {
      expect(await unary(client, 'ServerLive', {})).toEqual({ live: true });
      const response = await unary(client, 'ModelInfer', simpleRawRequest('tls'));
      expect(response.id).toBe('tls');
    });
  });

  it('refuses plaintext clients', async () => {
    expect(await using(plainClient(server.grpcPort), failure)).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('mutual TLS (--grpc-use-ssl-mutual)', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({
      loadModels: [],
      allowHttp: false,
      grpcTls: { certChain: pem('server.crt'), privateKey: pem('server.key'), rootCerts: pem('test-ca.crt'), mutual: true },
    });
  });
  afterAll(() => server?.app.stop());

  it('serves a client whose certificate the CA signed', async () => {
    expect(await using(tlsClient(server.grpcPort, 'client'), (client) => unary(client, 'ServerLive', {}))).toEqual({ live: true });
  });

  it('refuses clients without a certificate, with one from another CA, and plaintext', async () => {
    expect(await using(tlsClient(server.grpcPort), failure)).toBe(grpc.status.UNAVAILABLE);
    expect(await using(tlsClient(server.grpcPort, 'stranger'), failure)).toBe(grpc.status.UNAVAILABLE);
    expect(await using(plainClient(server.grpcPort), failure)).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('the command with Triton\'s TLS flags (as qa/L0_secure_grpc passes them)', () => {
  it('serves mutual TLS with space-separated certificate flags', async () => {
    const cli = await startCli(
      [
        `--model-repository=${MODEL_REPOSITORY}`,
        '--model-control-mode=explicit',
        '--http-port=0',
        '--grpc-port=0',
        '--allow-metrics=false',
        '--host=127.0.0.1',
        '--grpc-use-ssl=1',
        '--grpc-use-ssl-mutual=1',
        '--grpc-server-cert', file('server.crt'),
        '--grpc-server-key', file('server.key'),
        '--grpc-root-cert', file('test-ca.crt'),
      ],
      'GRPC service started',
    );
    try {
      expect(await using(tlsClient(cli.grpcPort!, 'client'), (client) => unary(client, 'ServerLive', {}))).toEqual({ live: true });
      expect(await using(tlsClient(cli.grpcPort!), failure)).toBe(grpc.status.UNAVAILABLE);
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exit;
    }
  });

  it('exits 1 naming the flag when a certificate file cannot be read', async () => {
    const cli = startCli([`--model-repository=${MODEL_REPOSITORY}`, '--http-port=0', '--grpc-port=0', '--allow-metrics=false', '--host=127.0.0.1',
      '--grpc-use-ssl=true', `--grpc-server-cert=${file('missing.crt')}`, `--grpc-server-key=${file('server.key')}`]);
    await expect(cli).rejects.toThrow(/exited with 1[\s\S]*--grpc-server-cert: cannot read/);
  });
});

/**
 * Triton's endpoint protection against the real server on loopback: --http-restricted-api (403 and Triton's text)
 * and --grpc-restricted-protocol (UNAVAILABLE, metadata `triton-grpc-protocol-<key>`), group by group, and the CLI
 * syntax with Triton's parse errors.
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseCli } from '../../server/cli';
import { addRestriction, RESTRICTED_CATEGORIES, RestrictedCategory, Restriction } from '../../server/core/restricted-features';
import { inferenceServiceDefinition } from '../../server/protocol/grpc/proto';
import { grpcMethodGroup, INFERENCE_RPC_GROUPS } from '../../server/protocol/grpc/restricted';
import { httpRouteGroup } from '../../server/protocol/http/restricted';
import {
  firstStreamReply,
  loadProto,
  metadataOf,
  simpleRawRequest,
  unary,
  unaryError,
} from '../grpc/helpers';
import { httpRequest, simpleInputs } from '../http/helpers';
import { serverForSuite } from './suite-server';

const base = ['--model-repository=/models'];

describe('flag syntax (Triton ParseRestrictedFeatureOption)', () => {
  it('maps each listed group to the header and value; gRPC keys get the triton-grpc-protocol- prefix', () => {
    const cli = parseCli([...base, '--http-restricted-api=model-repository,logging:admin-key=s3cret', '--http-restricted-api=trace:t=a=b']);
    expect([...cli.httpRestrictedApis]).toEqual([
      ['model-repository', { header: 'admin-key', value: 's3cret' }],
      ['logging', { header: 'admin-key', value: 's3cret' }],
      ['trace', { header: 't', value: 'a=b' }],
    ]);
    const grpcCli = parseCli([...base, '--grpc-restricted-protocol=inference:infer-key=k']);
    expect(grpcCli.grpcRestrictedProtocols.get('inference')).toEqual({ header: 'triton-grpc-protocol-infer-key', value: 'k' });
    expect(parseCli(base).httpRestrictedApis.size).toBe(0);
  });

  it.each([
    ['health', "Bad option: \"--http-restricted-api\".\n--http-restricted-api option format is '<config name>:<setting>=<value>'. Got health"],
    ['health:k', "--http-restricted-api option format is '<config name>:<setting>=<value>'. Got health:k"],
    [':k=v', "option format is '<config name>:<setting>=<value>'. Got :k=v"],
    ['health:k=', "option format is '<config name>:<setting>=<value>'. Got health:k="],
    ['healthy:k=v', "unknown restricted api 'healthy'"],
  ])('refuses %s', (value, message) => {
    expect(() => parseCli([...base, `--http-restricted-api=${value}`])).toThrow(message);
  });

  it('refuses a group named in two flags', () => {
    expect(() => parseCli([...base, '--grpc-restricted-protocol=health:a=1', '--grpc-restricted-protocol=metadata,health:b=2'])).toThrow(
      "Bad option: \"--grpc-restricted-protocol\".\nrestricted protocol 'health' can not be specified in multiple config groups",
    );
  });

  it('lists Triton groups in Triton order', () => {
    expect(RESTRICTED_CATEGORIES).toEqual(['health', 'metadata', 'inference', 'shared-memory', 'model-config', 'model-repository', 'statistics', 'trace', 'logging']);
  });
});

describe('endpoint groups', () => {
  it('every HTTP route belongs to the group its Triton handler checks', () => {
    const expected: Record<string, RestrictedCategory | undefined> = {
      '/v2': 'metadata',
      '/v2/health/live': 'health',
      '/v2/health/ready': 'health',
      '/v2/models/:model': 'metadata',
      '/v2/models/:model/versions/:version': 'metadata',
      '/v2/models/:model/ready': 'health',
      '/v2/models/:model/versions/:version/ready': 'health',
      '/v2/models/:model/infer': 'inference',
      '/v2/models/:model/versions/:version/infer': 'inference',
      '/v2/models/:model/generate': 'inference',
      '/v2/models/:model/generate_stream': 'inference',
      '/v2/models/:model/config': 'model-config',
      '/v2/models/:model/versions/:version/config': 'model-config',
      '/v2/models/stats': 'statistics',
      '/v2/models/:model/stats': 'statistics',
      '/v2/models/:model/versions/:version/stats': 'statistics',
      '/v2/trace/setting': 'trace',
      '/v2/models/:model/trace/setting': 'trace',
      '/v2/logging': 'logging',
      '/v2/systemsharedmemory/status': 'shared-memory',
      '/v2/systemsharedmemory/region/:name/register': 'shared-memory',
      '/v2/cudasharedmemory/unregister': 'shared-memory',
      '/v2/repository/index': 'model-repository',
      '/v2/repository/models/:model/load': 'model-repository',
      '/metrics': undefined,
    };
    for (const [url, group] of Object.entries(expected)) expect([url, httpRouteGroup(url)]).toEqual([url, group]);
  });

  it('every gRPC method of the service has a group; standard health is health, reflection none', () => {
    for (const method of Object.keys(inferenceServiceDefinition())) {
      expect([method, INFERENCE_RPC_GROUPS[method] !== undefined]).toEqual([method, true]);
    }
    expect(grpcMethodGroup('/grpc.health.v1.Health/Check')).toBe('health');
    expect(grpcMethodGroup('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo')).toBeUndefined();
  });
});

function restrictions(entries: string[], flag: string, feature: 'api' | 'protocol', prefix = ''): Map<RestrictedCategory, Restriction> {
  const map = new Map<RestrictedCategory, Restriction>();
  for (const entry of entries) addRestriction(map, entry, flag, feature, prefix);
  return map;
}

describe('a server with restricted groups', () => {
  const server = serverForSuite({
    loadModels: ['simple'],
    httpRestrictedApis: restrictions(['model-repository,logging:Admin-Key=s3cret', 'inference:infer-key=abc'], 'http-restricted-api', 'api'),
    grpcRestrictedProtocols: restrictions(['health,model-repository:admin-key=s3cret', 'inference:infer-key=abc'], 'grpc-restricted-protocol', 'protocol', 'triton-grpc-protocol-'),
  });

  const http = (method: string, url: string, headers: Record<string, string> = {}, payload?: string) =>
    httpRequest(server.httpPort, { method, url, headers, ...(payload !== undefined ? { payload } : {}) });
  const inferBody = JSON.stringify({ inputs: simpleInputs() });

  it('HTTP: a restricted group without the header (or with another value) is 403 with Triton\'s text', async () => {
    for (const [method, url] of [
      ['POST', '/v2/repository/index'],
      ['POST', '/v2/repository/models/simple/unload'],
      ['GET', '/v2/logging'],
    ]) {
      const refused = await http(method, url);
      expect([url, refused.statusCode, refused.json()]).toEqual([url, 403, { error: "This API is restricted, expecting header 'Admin-Key'" }]);
      expect((await http(method, url, { 'admin-key': 'wrong' })).statusCode).toBe(403);
    }
    const infer = await http('POST', '/v2/models/simple/infer', {}, inferBody);
    expect([infer.statusCode, infer.json()]).toEqual([403, { error: "This API is restricted, expecting header 'infer-key'" }]);
  });

  it('HTTP: with the header the request is served; open groups need nothing', async () => {
    expect((await http('POST', '/v2/repository/index', { 'admin-key': 's3cret' })).statusCode).toBe(200);
    expect((await http('GET', '/v2/logging', { 'ADMIN-KEY': 's3cret' })).statusCode).toBe(200);
    const infer = await http('POST', '/v2/models/simple/infer', { 'infer-key': 'abc' }, inferBody);
    expect(infer.statusCode).toBe(200);
    for (const url of ['/v2/health/ready', '/v2', '/v2/models/simple', '/v2/models/simple/config', '/v2/models/stats', '/v2/trace/setting']) {
      expect([url, (await http('GET', url)).statusCode]).toEqual([url, 200]);
    }
  });

  it('gRPC: a restricted group without the metadata fails UNAVAILABLE with Triton\'s text', async () => {
    for (const [method, request] of [
      ['ServerLive', {}],
      ['RepositoryIndex', {}],
      ['ModelInfer', simpleRawRequest()],
    ] as const) {
      const error = await unaryError(server.client, method, request);
      const key = method === 'ModelInfer' ? 'infer-key' : 'admin-key';
      expect([method, error.code, error.details]).toEqual([
        method,
        grpc.status.UNAVAILABLE,
        `This protocol is restricted, expecting header 'triton-grpc-protocol-${key}'`,
      ]);
    }
    const wrong = metadataOf({ 'triton-grpc-protocol-admin-key': 'nope' });
    const error = await new Promise<grpc.ServiceError>((resolve) => server.client.ServerLive({}, wrong, (e: grpc.ServiceError) => resolve(e)));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('gRPC: with the metadata the call is served; open groups need nothing', async () => {
    const metadata = metadataOf({ 'triton-grpc-protocol-admin-key': 's3cret' });
    const live = await new Promise((resolve, reject) => server.client.ServerLive({}, metadata, (e: Error | null, v: unknown) => (e ? reject(e) : resolve(v))));
    expect(live).toEqual({ live: true });
    expect((await unary(server.client, 'ServerMetadata', {})).name).toBe('triton');
    expect((await unary(server.client, 'ModelConfig', { name: 'simple' })).config.name).toBe('simple');
  });

  it('gRPC: a stream of a restricted group ends at once; with the metadata it serves', async () => {
    const refused = server.client.ModelStreamInfer() as grpc.ClientDuplexStream<unknown, unknown>;
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      refused.on('data', () => undefined);
      refused.on('error', () => undefined);
      refused.on('status', resolve);
    });
    expect([status.code, status.details]).toEqual([grpc.status.UNAVAILABLE, "This protocol is restricted, expecting header 'triton-grpc-protocol-infer-key'"]);

    const reply = await firstStreamReply(server.client, simpleRawRequest(), metadataOf({ 'triton-grpc-protocol-infer-key': 'abc' }));
    expect(reply.error_message).toBe('');
  });

  it('gRPC: the standard health check is in the health group', async () => {
    const health = loadProto('health/v1/health.proto', [path.dirname(require.resolve('grpc-health-check/package.json')) + '/proto']) as any;
    const healthClient = new health.grpc.health.v1.Health(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError>((resolve) => healthClient.Check({ service: '' }, (e: grpc.ServiceError) => resolve(e)));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    healthClient.close();
  });
});

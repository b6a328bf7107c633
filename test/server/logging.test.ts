/**
 * Triton's logging extension over both frontends against one server: GET/POST /v2/logging and gRPC LogSettings share
 * the core settings, their changes really steer the pino logger (lines captured from its stream), bad values get
 * Triton's errors and change nothing, and fuzzed requests never do anything but a settings answer or an error.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SERVER_EXTENSIONS } from '../../server/core/inference-service';
import { LogSettingsController } from '../../server/core/log-settings';
import { unary, unaryError } from '../grpc/helpers';
import { httpRequest } from '../http/helpers';
import { EXAMPLES } from './repo-fixture';
import { serverForSuite } from './suite-server';

const DEFAULTS = { log_file: '', log_info: true, log_warning: true, log_error: true, log_verbose_level: 0, log_format: 'default' };

const lines: Array<{ level: number; msg: string; time: unknown }> = [];
const settings = new LogSettingsController();
const logger = pino(
  settings.pinoOptions(),
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  }),
);

const server = serverForSuite({
  modelRepositories: [EXAMPLES],
  loadModels: [],
  allowMetrics: false,
  logger,
  logSettings: settings,
});

const getSettings = async () => (await httpRequest(server.httpPort, { method: 'GET', url: '/v2/logging' })).json();
const postSettings = (body: unknown) =>
  httpRequest(server.httpPort, { method: 'POST', url: '/v2/logging', payload: typeof body === 'string' ? body : JSON.stringify(body) });

/** Lines the logger writes for one call at each level, as their messages. */
function written(): string[] {
  lines.length = 0;
  logger.trace('trace line');
  logger.debug('debug line');
  logger.info('info line');
  logger.warn('warn line');
  logger.error('error line');
  logger.fatal('fatal line');
  return lines.map((line) => line.msg);
}

describe('logging extension', () => {
  beforeEach(async () => {
    expect((await postSettings({ log_info: true, log_warning: true, log_error: true, log_verbose_level: 0, log_format: 'default' })).statusCode).toBe(200);
  });

  it('is listed in the server extensions; GET answers the settings in force', async () => {
    expect(SERVER_EXTENSIONS).toContain('logging');
    expect(await getSettings()).toEqual(DEFAULTS);
    expect(written()).toEqual(['info line', 'warn line', 'error line', 'fatal line']);
  });

  it('HTTP POST changes only the settings it names and the logger follows them', async () => {
    const verbose = await postSettings({ log_verbose_level: 1 });
    expect(verbose.statusCode).toBe(200);
    expect(verbose.json()).toEqual({ ...DEFAULTS, log_verbose_level: 1 });
    expect(written()).toEqual(['debug line', 'info line', 'warn line', 'error line', 'fatal line']);
    await postSettings({ log_verbose_level: 2 });
    expect(written()[0]).toBe('trace line');

    // Toggles that one pino threshold cannot express: info and errors off, warnings on.
    expect((await postSettings({ log_verbose_level: 0, log_info: false, log_error: false, log_warning: null })).json()).toEqual({
      ...DEFAULTS,
      log_info: false,
      log_error: false,
    });
    expect(written()).toEqual(['warn line', 'fatal line']);

    await postSettings({ log_format: 'ISO8601', unknown_setting: 5 });
    written();
    expect(lines[0].time).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
    await postSettings({ log_format: 'default' });
    written();
    expect(typeof lines[0].time).toBe('number');
  });

  it.each([
    [{ log_file: '/tmp/triton.log' }, 501, 'log file location can not be updated through network protocol'],
    [{ log_info: 'yes' }, 400, "expect boolean for 'log_info'"],
    [{ log_warning: 1 }, 400, "expect boolean for 'log_warning'"],
    [{ log_error: {} }, 400, "expect boolean for 'log_error'"],
    [{ log_verbose_level: -1 }, 400, "expect int32 for 'log_verbose_level'"],
    [{ log_verbose_level: 1.5 }, 400, "expect int32 for 'log_verbose_level'"],
    [{ log_verbose_level: '1' }, 400, "expect int32 for 'log_verbose_level'"],
    [{ log_format: 'json' }, 400, 'invalid argument for log_format, got: json'],
    [{ log_format: true }, 400, "expect string for 'log_format'"],
  ])('HTTP POST %j is refused with %i and changes nothing', async (body, status, message) => {
    const response = await postSettings({ log_verbose_level: 3, ...body });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toEqual({ error: message });
    expect(await getSettings()).toEqual(DEFAULTS);
  });

  it('HTTP POST with a body that is not a JSON object is refused', async () => {
    for (const body of ['', 'not json', '[1]', '3']) {
      const response = await postSettings(body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: expect.stringContaining('failed to parse the request JSON buffer') });
    }
  });

  it('gRPC LogSettings reads and changes the same settings', async () => {
    expect((await unary(server.client, 'LogSettings', {})).settings).toEqual({
      log_file: { string_param: '', parameter_choice: 'string_param' },
      log_info: { bool_param: true, parameter_choice: 'bool_param' },
      log_warning: { bool_param: true, parameter_choice: 'bool_param' },
      log_error: { bool_param: true, parameter_choice: 'bool_param' },
      log_verbose_level: { uint32_param: 0, parameter_choice: 'uint32_param' },
      log_format: { string_param: 'default', parameter_choice: 'string_param' },
    });
    const { settings } = await unary(server.client, 'LogSettings', {
      settings: { log_verbose_level: { uint32_param: 1 }, log_warning: { bool_param: false }, log_format: { string_param: 'ISO8601' } },
    });
    expect(settings.log_verbose_level.uint32_param).toBe(1);
    expect(await getSettings()).toEqual({ ...DEFAULTS, log_verbose_level: 1, log_warning: false, log_format: 'ISO8601' });
    expect(written()).toEqual(['debug line', 'info line', 'error line', 'fatal line']);
  });

  it.each([
    [{ log_file: { string_param: 'x.log' } }, grpc.status.UNIMPLEMENTED, 'log file location can not be updated through network protocol'],
    [{ log_info: { uint32_param: 1 } }, grpc.status.INVALID_ARGUMENT, "expect boolean for 'log_info'"],
    [{ log_verbose_level: { bool_param: true } }, grpc.status.INVALID_ARGUMENT, "expect int32 for 'log_verbose_level'"],
    [{ log_verbose_level: {} }, grpc.status.INVALID_ARGUMENT, "expect int32 for 'log_verbose_level'"],
    [{ log_format: { string_param: 'xml' } }, grpc.status.INVALID_ARGUMENT, 'invalid argument for log_format, got: xml'],
  ])('gRPC LogSettings %j is refused and changes nothing', async (settings, code, message) => {
    const error = await unaryError(server.client, 'LogSettings', { settings: { log_info: { bool_param: false }, ...settings } });
    expect(error.code).toBe(code);
    expect(error.details).toBe(message);
    expect(await getSettings()).toEqual(DEFAULTS);
  });

  it('fuzzed HTTP and gRPC settings: a full settings answer or a Triton error, never a crash', async () => {
    const name = fc.constantFrom('log_file', 'log_info', 'log_warning', 'log_error', 'log_verbose_level', 'log_format', 'other');
    const value = fc.oneof(fc.boolean(), fc.integer({ min: -3, max: 2 ** 33 }), fc.double(), fc.constantFrom('default', 'ISO8601'), fc.string(), fc.constant(null), fc.array(fc.nat(), { maxLength: 2 }));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 4 }), async (body) => {
        const response = await postSettings(body);
        expect([200, 400, 501]).toContain(response.statusCode);
        const answer = response.json() as Record<string, unknown>;
        if (response.statusCode === 200) expect(Object.keys(answer).sort()).toEqual(Object.keys(DEFAULTS).sort());
        else expect(Object.keys(answer)).toEqual(['error']);
      }),
      { numRuns: 60 },
    );
    const grpcValue = fc.oneof(
      fc.boolean().map((v) => ({ bool_param: v })),
      fc.nat().map((v) => ({ uint32_param: v })),
      fc.oneof(fc.string(), fc.constantFrom('default', 'ISO8601')).map((v) => ({ string_param: v })),
      fc.constant({}),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, grpcValue, { maxKeys: 4 }), async (settings) => {
        try {
          const response = await unary(server.client, 'LogSettings', { settings });
          expect(Object.keys(response.settings).sort()).toEqual(Object.keys(DEFAULTS).sort());
        } catch (error) {
          expect([grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED]).toContain((error as grpc.ServiceError).code);
        }
      }),
      { numRuns: 60 },
    );
    expect((await httpRequest(server.httpPort, { method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
  });
});

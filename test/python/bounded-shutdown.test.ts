import * as fs from 'node:fs';
import * as path from 'node:path';
import { InferenceError } from '../../server/core/errors';
import { scratchRepository, startServer } from './helpers';

/**
 * The exit timeout bounds the whole stop: a request stuck in a model (here a Python model sleeping far longer than
 * the timeout) is failed with UNAVAILABLE and the server stops, instead of waiting for it.
 */
it('stop() fails requests still running at the exit deadline and returns', async () => {
  const repo = scratchRepository(['batch_probe']);
  const config = path.join(repo, 'batch_probe', 'config.pbtxt');
  fs.writeFileSync(
    config,
    fs
      .readFileSync(config, 'utf8')
      .replace('string_value: "0.05"', 'string_value: "120"')
      .replace(/dynamic_batching \{[^}]*\}/, '')
      .concat('\nparameters { key: "EXECUTE_TIMEOUT_SECONDS" value: { string_value: "300" } }\n'),
  );
  const { app } = await startServer({ modelRepositories: [repo], loadModels: ['batch_probe'], exitTimeoutSecs: 1 });
  const stuck = app.service
    .infer({ model: 'batch_probe', inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], data: Int32Array.of(1) }] })
    .catch((error: unknown) => error);
  while (app.manager.readyVersions()[0].scheduler.queuedCount > 0 || app.manager.readyVersions()[0].scheduler.pendingCount === 0) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const stopped = app.stop().then(() => 'stopped');
  // The model sleeps for 120 s: only the exit deadline (1 s) can end the stop before jest's 60 s timeout fails the test.
  expect(await stopped).toBe('stopped');
  const failure = await stuck;
  expect(failure).toBeInstanceOf(InferenceError);
  expect((failure as InferenceError).code).toBe('UNAVAILABLE');
}, 60_000);

/**
 * A decoupled execute that fails (raises after a response) must still release its request's input region: a region
 * left held would keep the stub's /dev/shm input file growing for as long as the stub lives.
 */
import { BytesData } from '../../server/core/bytes-data';
import * as path from 'node:path';
import { StubProcess } from '../../server/backends/python/stub-process';
import type { Tensor } from '../../server/core/tensor';

const MODEL = path.join(__dirname, 'models', 'stream_probe');
const STUB = path.join(__dirname, '..', '..', 'server', 'backends', 'python', 'stub.py');

it('releases the input region of a decoupled execute that raises, so the input file is reused', async () => {
  const stub = StubProcess.spawn({ python: 'python3', stubPath: STUB, label: 'regions', env: process.env, cwd: MODEL, shmDir: '/dev/shm', shmPrefix: 'test_regions', output: () => undefined });
  try {
    await stub.initialize({ model_file: path.join(MODEL, '1', 'model.py'), version_dir: path.join(MODEL, '1'), args: {}, decoupled: true, instance_name: 'regions' }, 20_000);
    const files = (stub as unknown as { files: { live: Map<unknown, unknown> } }).files;
    const mode = (m: string): Tensor[] => [{ name: 'MODE', datatype: 'BYTES', shape: [1], data: BytesData.fromStrings([m]) }];
    for (let i = 0; i < 3; i++) {
      await expect(stub.executeDecoupled([{ inputs: mode('raise'), outputNames: [], sink: () => undefined }], 20_000)[0]).rejects.toThrow(/failed after the first response/);
      expect(files.live.size).toBe(0);
    }
    await stub.executeDecoupled([{ inputs: mode('ok'), outputNames: [], sink: () => undefined }], 20_000)[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(files.live.size).toBe(0);
  } finally {
    await stub.close(2000);
  }
});

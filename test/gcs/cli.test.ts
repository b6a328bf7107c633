import { parseCli } from '../../server/cli';

describe('--model-cache-dir', () => {
  it('is passed through, and left to the server default when absent', () => {
    expect(parseCli(['--model-repository=gs://b/r', '--model-cache-dir=/var/cache/inference-server']).modelCacheDir).toBe('/var/cache/inference-server');
    expect(parseCli(['--model-repository=gs://b/r', '--model-repository=/models']).modelCacheDir).toBeUndefined();
  });
});

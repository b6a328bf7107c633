/**
 * The CUDA provider travels to the GPU machine in parts, one device call each (bench/gpu-check.sh provider / stash /
 * run): the split, the stash that keeps each carried part on the machine, and the join with its checksums, run here on
 * a generated file the way the device sequence runs them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'gpu-check.sh');

function gpuCheck(args: string[], env: Record<string, string>) {
  return spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('bench/gpu-check.sh provider parts', () => {
  let dir: string;
  let original: Buffer;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provider-parts-'));
    original = randomBytes(2_500_000);
    fs.writeFileSync(path.join(dir, 'ort-cuda.tar.xz'), original);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function splitAndCarryOneByOne(stash: string): string[] {
    const parts = path.join(dir, 'parts');
    expect(gpuCheck(['split', path.join(dir, 'ort-cuda.tar.xz'), '1M'], { GPU_PARTS_DIR: parts }).status).toBe(0);
    const folders = fs.readdirSync(parts).sort();
    // One device call per part: the working tree carries only that part's folder, the stash keeps the earlier ones.
    const carried = path.join(dir, 'carried');
    for (const folder of folders) {
      fs.rmSync(carried, { recursive: true, force: true });
      fs.mkdirSync(carried);
      fs.cpSync(path.join(parts, folder), path.join(carried, folder), { recursive: true });
      expect(gpuCheck(['stash'], { GPU_PARTS_DIR: carried, GPU_PROVIDER_STASH: stash }).status).toBe(0);
    }
    return folders;
  }

  it('splits into parts of the given size and joins them back byte for byte once every part is there', () => {
    const stash = path.join(dir, 'stash');
    expect(splitAndCarryOneByOne(stash)).toEqual(['1', '2', '3']);
    expect(fs.statSync(path.join(stash, 'ort-cuda.tar.xz.part00')).size).toBe(1024 * 1024);
    const joined = path.join(dir, 'joined');
    const result = gpuCheck(['join', stash, joined], {});
    expect(result.status).toBe(0);
    expect(createHash('sha256').update(fs.readFileSync(joined)).digest('hex'))
      .toBe(createHash('sha256').update(original).digest('hex'));
  });

  it('does not join while a part is missing, and refuses a damaged part', () => {
    const stash = path.join(dir, 'stash');
    splitAndCarryOneByOne(stash);
    fs.renameSync(path.join(stash, 'ort-cuda.tar.xz.part02'), path.join(dir, 'held-back'));
    const missing = gpuCheck(['join', stash, path.join(dir, 'joined')], {});
    expect(missing.status).not.toBe(0);
    expect(missing.stdout).toContain('2 of 3 parts here, not joined yet');

    fs.renameSync(path.join(dir, 'held-back'), path.join(stash, 'ort-cuda.tar.xz.part02'));
    const part = path.join(stash, 'ort-cuda.tar.xz.part01');
    const bytes = fs.readFileSync(part);
    bytes[1000] ^= 0xff;
    fs.writeFileSync(part, bytes);
    const damaged = gpuCheck(['join', stash, path.join(dir, 'joined')], {});
    expect(damaged.status).not.toBe(0);
    expect(damaged.stderr).toContain('a provider part is damaged');
    expect(fs.existsSync(path.join(dir, 'joined'))).toBe(false);
  });

  it('the real split size keeps every part under one transfer beside the working tree', () => {
    // PART_MIB default 54 and the device tool's 64 MiB per transfer (the working tree is about 10 MiB).
    const text = fs.readFileSync(SCRIPT, 'utf8');
    expect(text).toContain('part_mib="${PART_MIB:-54}"');
    expect(execFileSync('git', ['check-ignore', '.gpu-parts/1/x'], { cwd: path.dirname(path.dirname(SCRIPT)), encoding: 'utf8' }).trim())
      .toBe('.gpu-parts/1/x');
  });
});

import { GpuDevice, NvidiaSmiInventory, placeInstances, PlacementLedger } from '../../server/scheduler/gpu-placement';

const GiB = 1024 ** 3;
/** A fake device inventory: this machine has no GPU, so placement is tested on recorded states. */
const gpu = (deviceId: number, usedGiB: number, utilization: number, totalGiB = 80): GpuDevice => ({
  deviceId,
  uuid: `GPU-0000000${deviceId}-aaaa-bbbb-cccc-dddddddddddd`,
  memoryTotalBytes: totalGiB * GiB,
  memoryUsedBytes: usedGiB * GiB,
  utilization,
});

describe('GPU placement', () => {
  it('puts an instance on the GPU with the most free memory', () => {
    const [chosen] = placeInstances([gpu(0, 60, 0.1), gpu(1, 10, 0.9), gpu(2, 30, 0)], 1, 1 * GiB);
    expect(chosen.deviceId).toBe(1);
  });

  it('breaks memory ties by utilisation, then by instances already placed', () => {
    expect(placeInstances([gpu(0, 10, 0.8), gpu(1, 10, 0.2)], 1, 0)[0].deviceId).toBe(1);
    const ledger = new PlacementLedger();
    ledger.add(gpu(0, 0, 0).uuid, 3);
    expect(placeInstances([gpu(0, 10, 0.5), gpu(1, 10, 0.5)], 1, 0, ledger)[0].deviceId).toBe(1);
  });

  it('spreads several instances as memory is used up, and re-evaluates from the current state', () => {
    const devices = [gpu(0, 0, 0, 16), gpu(1, 0, 0, 16)];
    expect(placeInstances(devices, 4, 2 * GiB).map((d) => d.deviceId)).toEqual([0, 1, 0, 1]);
    // Later, GPU 0 is busy with other work: the next load goes to GPU 1.
    expect(placeInstances([gpu(0, 12, 0.9, 16), gpu(1, 2, 0.1, 16)], 1, 2 * GiB)[0].deviceId).toBe(1);
  });

  it('fails clearly when nothing fits or there is no GPU', () => {
    expect(() => placeInstances([gpu(0, 79, 0)], 1, 2 * GiB)).toThrow(/not enough free GPU memory/);
    expect(() => placeInstances([], 1, 0)).toThrow(/no GPU is available/);
  });

  it('reads the inventory from nvidia-smi output and numbers devices as CUDA does', async () => {
    const recorded = [
      '0, GPU-11111111-2222-3333-4444-555555555555, 35, 81559, 20480, 310.50, 700.00',
      '1, GPU-66666666-7777-8888-9999-000000000000, 0, 81559, 1024, 70.10, 700.00',
    ].join('\n');
    const inventory = new NvidiaSmiInventory(async () => recorded, '1');
    const devices = await inventory.devices();
    expect(devices).toEqual([
      {
        deviceId: 0,
        uuid: 'GPU-66666666-7777-8888-9999-000000000000',
        memoryTotalBytes: 81559 * 1024 * 1024,
        memoryUsedBytes: 1024 * 1024 * 1024,
        utilization: 0,
      },
    ]);
    const none = new NvidiaSmiInventory(async () => {
      throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    });
    expect(await none.devices()).toEqual([]);
  });
});

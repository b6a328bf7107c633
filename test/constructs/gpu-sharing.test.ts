/**
 * GPU sharing: the node pool's gpuSharingConfig and MIG partitions (checked against the ContainerNodePool CRD), the
 * server pods' node selectors for GKE's labels, and the validation that keeps the two in agreement.
 */
import { Testing } from 'cdk8s';
import {
  GPU_SHARING_LABELS, GpuNodePool, GpuNodePoolCluster, GpuNodePoolProps, GpuSharing, InferenceServer, InferenceServerProps,
  MIG_PARTITION_SIZES,
} from '../../constructs';
import { GkeStack, GkeStackProps } from '../../prototypes/gke-stack';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const poolBase: GpuNodePoolProps = {
  name: 'gpu-pool', location: 'us-central1-a', projectId: 'my-project',
  cluster: GpuNodePoolCluster.fromName('inference'), acceleratorType: 'nvidia-h100-80gb',
};
const serverBase: InferenceServerProps = {
  name: 'isrv', image: 'us-docker.pkg.dev/p/r/inference-server:0.1.0', modelRepositories: ['/models'], acceleratorType: 'nvidia-h100-80gb',
};

function pool(props: Partial<GpuNodePoolProps>): { manifests: Manifest[]; errors: string[]; pool: GpuNodePool } {
  const c = chart('cnrm');
  const p = new GpuNodePool(c, 'Pool', { ...poolBase, ...props });
  const errors = validationErrors(c);
  return { manifests: errors.length ? [] : synth(c), errors, pool: p };
}

function server(props: Partial<InferenceServerProps>): { manifests: Manifest[]; errors: string[] } {
  const c = chart();
  new InferenceServer(c, 'Server', { ...serverBase, ...props });
  const errors = validationErrors(c);
  return { manifests: errors.length ? [] : synth(c), errors };
}

const accelerator = (m: Manifest[]) => find(m, 'ContainerNodePool').spec.nodeConfig.guestAccelerator[0];
const podSpec = (m: Manifest[]) => find(m, 'Deployment').spec.template.spec;

describe('GpuNodePool gpuSharing', () => {
  test('time-sharing and MPS set gpuSharingConfig; MIG sets gpuPartitionSize; both pass the CRD schema', () => {
    const timeSharing = pool({ gpuSharing: { strategy: 'TIME_SHARING', maxSharedClientsPerGpu: 4 } });
    expect(accelerator(timeSharing.manifests).gpuSharingConfig).toEqual({ gpuSharingStrategy: 'TIME_SHARING', maxSharedClientsPerGpu: 4 });
    expect(accelerator(timeSharing.manifests).gpuPartitionSize).toBeUndefined();
    const mig = pool({ gpuSharing: { partitionSize: '1g.10gb' } });
    expect(accelerator(mig.manifests).gpuPartitionSize).toBe('1g.10gb');
    expect(accelerator(mig.manifests).gpuSharingConfig).toBeUndefined();
    const both = pool({ gpuSharing: { strategy: 'MPS', maxSharedClientsPerGpu: 2, partitionSize: '3g.40gb' } });
    expect(accelerator(both.manifests)).toMatchObject({ gpuPartitionSize: '3g.40gb', gpuSharingConfig: { gpuSharingStrategy: 'MPS', maxSharedClientsPerGpu: 2 } });
    for (const m of [timeSharing, mig, both]) expect(schemaErrors(m.manifests)).toEqual([]);
  });

  test("the pool's nodeSelector carries GKE's sharing labels", () => {
    expect(pool({ gpuSharing: { strategy: 'MPS', maxSharedClientsPerGpu: 8, partitionSize: '1g.20gb' } }).pool.nodeSelector).toEqual({
      'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb',
      'cloud.google.com/gke-gpu-sharing-strategy': 'mps',
      'cloud.google.com/gke-max-shared-clients-per-gpu': '8',
      'cloud.google.com/gke-gpu-partition-size': '1g.20gb',
    });
    expect(pool({}).pool.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb' });
  });

  test('partitions must exist on the GPU; strategies need a client count from 2 to 48', () => {
    expect(pool({ acceleratorType: 'nvidia-l4', gpuSharing: { partitionSize: '1g.10gb' } }).errors).toEqual([
      expect.stringMatching(/^gpuSharing.partitionSize: nvidia-l4 has no MIG partitions on GKE; MIG works on nvidia-tesla-a100, /),
    ]);
    expect(pool({ gpuSharing: { partitionSize: '1g.5gb' } }).errors).toEqual([
      'gpuSharing.partitionSize "1g.5gb" is not a MIG partition of nvidia-h100-80gb; use one of 1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb',
    ]);
    expect(pool({ acceleratorType: 'nvidia-h200-141gb', gpuSharing: { partitionSize: '1g.18gb' } }).errors).toEqual([]);
    expect(pool({ gpuSharing: { strategy: 'TIME_SHARING' } }).errors).toEqual([expect.stringMatching(/^gpuSharing.maxSharedClientsPerGpu is required with strategy TIME_SHARING/)]);
    expect(pool({ gpuSharing: { maxSharedClientsPerGpu: 4 } }).errors).toEqual(['gpuSharing.maxSharedClientsPerGpu needs a strategy (TIME_SHARING or MPS)']);
    for (const clients of [1, 49, 2.5]) {
      expect(pool({ gpuSharing: { strategy: 'MPS', maxSharedClientsPerGpu: clients } }).errors).toEqual([
        `gpuSharing.maxSharedClientsPerGpu must be a whole number from 2 to 48, got ${clients}`,
      ]);
    }
    expect(pool({ gpuSharing: { strategy: 'SHARE_ALL' as GpuSharing['strategy'], maxSharedClientsPerGpu: 2 } }).errors).toEqual([
      'gpuSharing.strategy "SHARE_ALL" must be TIME_SHARING or MPS',
    ]);
  });

  test('every MIG size is written [compute]g.[memory]gb with an optional profile suffix', () => {
    for (const sizes of Object.values(MIG_PARTITION_SIZES)) for (const size of sizes) expect(size).toMatch(/^[1-7]g\.\d+gb([+-][a-z.]+)?$/);
  });
});

describe('InferenceServer gpuSharing', () => {
  test('pods select the sharing labels next to the GPU type, one GPU share each', () => {
    const { manifests } = server({ gpuSharing: { strategy: 'TIME_SHARING', maxSharedClientsPerGpu: 4, partitionSize: '1g.10gb' } });
    const spec = podSpec(manifests);
    expect(spec.nodeSelector).toEqual({
      'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb',
      [GPU_SHARING_LABELS.strategy]: 'time-sharing',
      [GPU_SHARING_LABELS.maxSharedClients]: '4',
      [GPU_SHARING_LABELS.partitionSize]: '1g.10gb',
    });
    expect(spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(spec.hostIPC).toBeUndefined();
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('without a GPU type, any GPU node with the sharing labels', () => {
    const spec = podSpec(server({ acceleratorType: undefined, gpuSharing: { partitionSize: '1g.10gb' } }).manifests);
    expect(spec.nodeSelector).toEqual({ [GPU_SHARING_LABELS.partitionSize]: '1g.10gb' });
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions)
      .toEqual([{ key: 'cloud.google.com/gke-accelerator', operator: 'Exists' }]);
  });

  test("MPS pods join the node's IPC namespace and use its /dev/shm", () => {
    const { manifests } = server({ gpuSharing: { strategy: 'MPS', maxSharedClientsPerGpu: 4 } });
    const spec = podSpec(manifests);
    expect(spec.hostIPC).toBe(true);
    expect(spec.volumes.map((v: { name: string }) => v.name)).not.toContain('dshm');
    expect(spec.containers[0].volumeMounts.map((v: { mountPath: string }) => v.mountPath)).not.toContain('/dev/shm');
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('numGpus 1 and no shmSize with MPS; the partition must fit the GPU type', () => {
    expect(server({ numGpus: 2, gpuSharing: { strategy: 'TIME_SHARING', maxSharedClientsPerGpu: 4 } }).errors).toEqual([
      'numGpus must be 1 with gpuSharing (one share or MIG partition per pod), got 2',
    ]);
    expect(server({ numGpus: 0, acceleratorType: undefined, gpuSharing: { partitionSize: '1g.10gb' } }).errors).toEqual([
      'numGpus must be 1 with gpuSharing (one share or MIG partition per pod), got 0',
    ]);
    expect(server({ shmSize: '2Gi', gpuSharing: { strategy: 'MPS', maxSharedClientsPerGpu: 4 } }).errors).toEqual([
      expect.stringMatching(/^shmSize does not apply with gpuSharing.strategy MPS/),
    ]);
    expect(server({ acceleratorType: 'nvidia-tesla-a100', gpuSharing: { partitionSize: '1g.10gb' } }).errors).toEqual([
      expect.stringMatching(/^gpuSharing.partitionSize "1g.10gb" is not a MIG partition of nvidia-tesla-a100/),
    ]);
  });
});

describe('gke-stack GPU sharing parameters', () => {
  const props: GkeStackProps = {
    name: 'isrv', image: 'img:1', projectId: 'my-project', location: 'us-central1-a', clusterName: 'c', bucketName: 'my-models',
  };
  const stack = (extra: Partial<GkeStackProps>) => new GkeStack({ infra: Testing.app(), workload: Testing.app() }, 'stack', { ...props, ...extra });

  test('the pool and the server get the same settings', () => {
    const s = stack({ acceleratorType: 'nvidia-a100-80gb', gpuSharingStrategy: 'TIME_SHARING', maxSharedClientsPerGpu: 3, gpuPartitionSize: '2g.20gb' });
    const infra = synth(s.infra);
    expect(accelerator(infra)).toMatchObject({ gpuPartitionSize: '2g.20gb', gpuSharingConfig: { gpuSharingStrategy: 'TIME_SHARING', maxSharedClientsPerGpu: 3 } });
    expect(podSpec(synth(s.workload)).nodeSelector).toEqual(s.nodePool.nodeSelector);
    expect(schemaErrors(infra)).toEqual([]);
  });

  test('unset parameters leave whole GPUs; bad ones fail validation', () => {
    const s = stack({ gpuSharingStrategy: '', maxSharedClientsPerGpu: 0, gpuPartitionSize: '' });
    expect(accelerator(synth(s.infra)).gpuSharingConfig).toBeUndefined();
    expect(podSpec(synth(s.workload)).nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
    const bad = stack({ gpuSharingStrategy: 'MPS', maxSharedClientsPerGpu: 4, numGpus: 2, gpusPerNode: 2, machineType: 'g2-standard-24' });
    expect([s.infra, bad.workload].flatMap(validationErrors)).toEqual([
      'numGpus must be 1 with gpuSharing (one share or MIG partition per pod), got 2',
    ]);
  });
});

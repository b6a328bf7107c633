import { ACCELERATOR_TYPES, GpuNodePool, GpuNodePoolCluster, GpuNodePoolProps } from '../../constructs';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const base: GpuNodePoolProps = {
  name: 'gpu-pool', location: 'us-central1-a', projectId: 'my-project',
  cluster: GpuNodePoolCluster.fromName('inference'), acceleratorType: 'nvidia-tesla-t4',
};

function build(props: Partial<GpuNodePoolProps> = {}): Manifest[] {
  const c = chart('cnrm');
  new GpuNodePool(c, 'Pool', { ...base, ...props });
  return synth(c);
}

function errorsOf(props: Partial<GpuNodePoolProps>): string[] {
  const c = chart();
  new GpuNodePool(c, 'Pool', { ...base, ...props });
  return validationErrors(c);
}

const nodeConfig = (m: Manifest[]) => find(m, 'ContainerNodePool').spec.nodeConfig;

describe('GpuNodePool', () => {
  test('passes the ContainerNodePool and ContainerCluster CRD schemas', () => {
    expect(schemaErrors(build())).toEqual([]);
    expect(schemaErrors(build({ cluster: GpuNodePoolCluster.create({ name: 'inference' }) }))).toEqual([]);
    expect(schemaErrors(build({ cluster: GpuNodePoolCluster.fromExternal('projects/p/locations/us-central1/clusters/c') }))).toEqual([]);
  });

  test('GPU, driver, machine, autoscaling, taint and Workload Identity', () => {
    const m = build({ acceleratorType: 'nvidia-l4', driverVersion: 'latest', minNodes: 1, maxNodes: 5 });
    const pool = find(m, 'ContainerNodePool');
    expect(pool.apiVersion).toBe('container.cnrm.cloud.google.com/v1beta1');
    expect(pool.metadata.annotations).toEqual({ 'cnrm.cloud.google.com/project-id': 'my-project' });
    expect(pool.spec.clusterRef).toEqual({ name: 'inference' });
    expect(pool.spec.autoscaling).toEqual({ minNodeCount: 1, maxNodeCount: 5 });
    expect(nodeConfig(m).machineType).toBe('g2-standard-8');
    expect(nodeConfig(m).guestAccelerator).toEqual([{ type: 'nvidia-l4', count: 1, gpuDriverInstallationConfig: { gpuDriverVersion: 'LATEST' } }]);
    expect(nodeConfig(m).taint).toEqual([{ key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' }]);
    expect(nodeConfig(m).workloadMetadataConfig).toEqual({ mode: 'GKE_METADATA' });
  });

  test('driver version maps to the GKE enum', () => {
    const version = (driverVersion: GpuNodePoolProps['driverVersion']) =>
      nodeConfig(build({ driverVersion })).guestAccelerator[0].gpuDriverInstallationConfig.gpuDriverVersion;
    expect(version(undefined)).toBe('DEFAULT');
    expect(version('latest')).toBe('LATEST');
    expect(version('disabled')).toBe('INSTALLATION_DISABLED');
  });

  test('GPU count follows fixed-count machine types, else the given count', () => {
    expect(nodeConfig(build({ acceleratorType: 'nvidia-h100-80gb', machineType: 'a3-highgpu-8g' })).guestAccelerator[0].count).toBe(8);
    expect(nodeConfig(build({ acceleratorCount: 4 })).guestAccelerator[0].count).toBe(4);
    expect(nodeConfig(build({ defaultAcceleratorCount: 2 })).guestAccelerator[0].count).toBe(2);
  });

  test('every accelerator type has a default machine that validates', () => {
    for (const acceleratorType of ACCELERATOR_TYPES) expect(errorsOf({ acceleratorType })).toEqual([]);
  });

  test('can create the cluster with Workload Identity', () => {
    const m = build({ cluster: GpuNodePoolCluster.create({ name: 'inference', releaseChannel: 'STABLE' }) });
    const cluster = find(m, 'ContainerCluster', 'inference');
    expect(cluster.spec.workloadIdentityConfig).toEqual({ workloadPool: 'my-project.svc.id.goog' });
    expect(cluster.spec.releaseChannel).toEqual({ channel: 'STABLE' });
    expect(find(m, 'ContainerNodePool').spec.clusterRef).toEqual({ name: 'inference' });
  });

  test('taint and Workload Identity can be turned off', () => {
    const m = build({ taint: false, workloadIdentity: false });
    expect(nodeConfig(m).taint).toBeUndefined();
    expect(nodeConfig(m).workloadMetadataConfig).toBeUndefined();
  });

  test('helpers for the server and the installer', () => {
    const c = chart();
    const pool = new GpuNodePool(c, 'Pool', { ...base, driverVersion: 'disabled' });
    expect(pool.needsDriverInstaller).toBe(true);
    expect(pool.nodeSelector).toEqual({ 'cloud.google.com/gke-accelerator': 'nvidia-tesla-t4' });
  });

  test('validation messages say what to fix', () => {
    expect(errorsOf({ acceleratorType: 'nvidia-tesla-k80' as never })[0]).toMatch(/"nvidia-tesla-k80" is not a GKE GPU type/);
    expect(errorsOf({ acceleratorType: 'nvidia-l4', machineType: 'n1-standard-8' })[0]).toMatch(/cannot carry nvidia-l4; use a g2 machine type/);
    expect(errorsOf({ acceleratorType: 'nvidia-h100-80gb', machineType: 'a3-highgpu-8g', acceleratorCount: 2 })[0])
      .toMatch(/comes with 8 GPU\(s\) but acceleratorCount is 2/);
    expect(errorsOf({ minNodes: 4, maxNodes: 2 })[0]).toMatch(/minNodes \(4\) is larger than maxNodes \(2\)/);
    expect(errorsOf({ driverVersion: 'R535' as never })[0]).toMatch(/driverVersion "R535" must be/);
    expect(errorsOf({ projectId: undefined, cluster: GpuNodePoolCluster.create({ name: 'c' }) })[0]).toMatch(/needs projectId/);
    expect(errorsOf({ name: 'GPU pool' })[0]).toMatch(/node pool name/);
  });
});

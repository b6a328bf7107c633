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
    expect(schemaErrors(build({ cluster: GpuNodePoolCluster.fromExternal('projects/my-project/locations/us-central1/clusters/c') }))).toEqual([]);
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

  test('the accelerator catalogue: A3 Mega, A3 Ultra, A4, A4X and G4 with their machines', () => {
    const machine = (acceleratorType: GpuNodePoolProps['acceleratorType'], machineType?: string) => {
      const pool = nodeConfig(build({ acceleratorType, machineType }));
      return `${pool.machineType}:${pool.guestAccelerator[0].type}x${pool.guestAccelerator[0].count}`;
    };
    expect(machine('nvidia-h100-mega-80gb')).toBe('a3-megagpu-8g:nvidia-h100-mega-80gbx8');
    expect(machine('nvidia-h200-141gb')).toBe('a3-ultragpu-8g:nvidia-h200-141gbx8');
    expect(machine('nvidia-b200')).toBe('a4-highgpu-8g:nvidia-b200x8');
    expect(machine('nvidia-gb200')).toBe('a4x-highgpu-4g:nvidia-gb200x4');
    expect(machine('nvidia-gb200', 'a4x-highgpu-4g-nolssd')).toBe('a4x-highgpu-4g-nolssd:nvidia-gb200x4');
    expect(machine('nvidia-rtx-pro-6000')).toBe('g4-standard-48:nvidia-rtx-pro-6000x1');
    expect(machine('nvidia-rtx-pro-6000', 'g4-standard-384')).toBe('g4-standard-384:nvidia-rtx-pro-6000x8');
    // A3 Mega machines carry the Mega H100, not the A3 High one.
    expect(errorsOf({ acceleratorType: 'nvidia-h100-80gb', machineType: 'a3-megagpu-8g' })[0]).toMatch(/cannot carry nvidia-h100-80gb; use a a3-highgpu or a3-edgegpu/);
    expect(errorsOf({ acceleratorType: 'nvidia-b200' })).toEqual([]);
  });

  test('nodeLocations, spot and reservations', () => {
    const m = build({ nodeLocations: ['us-central1-a', 'us-central1-c'], spot: true, reservation: { consumeReservationType: 'SPECIFIC_RESERVATION', values: ['gpu-res'] } });
    expect(schemaErrors(m)).toEqual([]);
    const pool = find(m, 'ContainerNodePool');
    expect(pool.spec.nodeLocations).toEqual(['us-central1-a', 'us-central1-c']);
    expect(pool.spec.nodeConfig.spot).toBe(true);
    expect(pool.spec.nodeConfig.reservationAffinity).toEqual({
      consumeReservationType: 'SPECIFIC_RESERVATION', key: 'compute.googleapis.com/reservation-name', values: ['gpu-res'],
    });
    expect(nodeConfig(build({ reservation: { consumeReservationType: 'ANY_RESERVATION' } })).reservationAffinity).toEqual({ consumeReservationType: 'ANY_RESERVATION' });
    expect(errorsOf({ reservation: { consumeReservationType: 'SPECIFIC_RESERVATION' } })[0]).toMatch(/needs the reservation name/);
    expect(errorsOf({ nodeLocations: ['us-central1'] })[0]).toMatch(/"us-central1" is not a zone/);
  });

  test('an existing gcloud cluster is referenced by clusterRef.external', () => {
    const m = build({ cluster: GpuNodePoolCluster.fromExternal('projects/my-project/locations/us-central1-a/clusters/inference') });
    expect(find(m, 'ContainerNodePool').spec.clusterRef).toEqual({ external: 'projects/my-project/locations/us-central1-a/clusters/inference' });
    expect(errorsOf({ cluster: GpuNodePoolCluster.fromExternal('inference') })[0]).toMatch(/must be projects\/PROJECT\/locations\/LOCATION\/clusters\/CLUSTER/);
  });

  test('can create the cluster with Workload Identity and managed Prometheus, kept on delete', () => {
    const m = build({ cluster: GpuNodePoolCluster.create({ name: 'inference', releaseChannel: 'STABLE' }) });
    const cluster = find(m, 'ContainerCluster', 'inference');
    expect(cluster.metadata.annotations).toEqual({ 'cnrm.cloud.google.com/project-id': 'my-project', 'cnrm.cloud.google.com/deletion-policy': 'abandon' });
    expect(cluster.spec.monitoringConfig).toEqual({ managedPrometheus: { enabled: true } });
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
    expect(errorsOf({ driverVersion: 'latest', imageType: 'UBUNTU_CONTAINERD' })[0]).toMatch(/"latest" is for Container-Optimized OS nodes only/);
    expect(errorsOf({ projectId: undefined, cluster: GpuNodePoolCluster.create({ name: 'c' }) })[0]).toMatch(/needs projectId/);
    expect(errorsOf({ name: 'GPU pool' })[0]).toMatch(/node pool name/);
  });
});

describe('GpuNodePool queuedProvisioning', () => {
  test("an empty pool for ProvisioningRequests: no reservation, no auto-repair, location policy ANY; the CRD's schema holds", () => {
    const m = build({ queuedProvisioning: true });
    const pool = find(m, 'ContainerNodePool');
    expect(pool.spec.queuedProvisioning).toEqual({ enabled: true });
    expect(pool.spec.autoscaling).toEqual({ minNodeCount: 0, maxNodeCount: 3, locationPolicy: 'ANY' });
    expect(pool.spec.management).toEqual({ autoRepair: false, autoUpgrade: true });
    expect(nodeConfig(m).reservationAffinity).toEqual({ consumeReservationType: 'NO_RESERVATION' });
    expect(schemaErrors(m)).toEqual([]);
    expect(find(build(), 'ContainerNodePool').spec.queuedProvisioning).toBeUndefined();
  });

  test('a queued pool cannot keep nodes or consume a reservation', () => {
    expect(errorsOf({ queuedProvisioning: true, minNodes: 1, reservation: { consumeReservationType: 'ANY_RESERVATION' } })).toEqual([
      'queuedProvisioning pools start empty (nodes come for ProvisioningRequests): minNodes must be 0, got 1',
      'queuedProvisioning pools consume no reservation: drop reservation (ANY_RESERVATION) or use NO_RESERVATION',
    ]);
  });
});

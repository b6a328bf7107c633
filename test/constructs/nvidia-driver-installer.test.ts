import { cosInstallScript, NvidiaDriverInstaller, NvidiaDriverInstallerProps, PARTITION_GPU_IMAGE, PAUSE_IMAGE } from '../../constructs';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

function build(props?: NvidiaDriverInstallerProps): Manifest[] {
  const c = chart('serving');
  new NvidiaDriverInstaller(c, 'Installer', props);
  return synth(c);
}

const pod = (m: Manifest[]) => find(m, 'DaemonSet').spec.template.spec;

describe('NvidiaDriverInstaller', () => {
  test('passes the Kubernetes schema for COS and Ubuntu', () => {
    expect(schemaErrors(build())).toEqual([]);
    expect(schemaErrors(build({ os: 'ubuntu' }))).toEqual([]);
  });

  test('is Google\'s kube-system DaemonSet: node-critical, GPU nodes without GKE-managed drivers, every taint tolerated', () => {
    for (const os of ['cos', 'ubuntu'] as const) {
      const m = build({ os });
      const ds = find(m, 'DaemonSet', 'nvidia-driver-installer');
      expect(ds.metadata.namespace).toBe('kube-system');
      expect(ds.spec.selector.matchLabels).toEqual({ 'k8s-app': 'nvidia-driver-installer' });
      expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate' });
      const spec = pod(m);
      expect(spec.priorityClassName).toBe('system-node-critical');
      expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions).toEqual([
        { key: 'cloud.google.com/gke-accelerator', operator: 'Exists' },
        { key: 'cloud.google.com/gke-gpu-driver-version', operator: 'DoesNotExist' },
        // Upstream HEAD: only the COS DaemonSets keep off Confidential nodes.
        ...(os === 'cos' ? [{ key: 'cloud.google.com/gke-confidential-nodes-instance-type', operator: 'DoesNotExist' }] : []),
      ]);
      expect(spec.initContainers[0]).toMatchObject({
        name: 'nvidia-driver-installer', securityContext: { privileged: true }, imagePullPolicy: 'Never', resources: { requests: { cpu: '150m' } },
      });
      // pause 3.8 by digest, as upstream HEAD: pause:2.0 is a Docker schema 1 image containerd 2 cannot pull.
      expect(spec.containers).toEqual([{ name: 'pause', image: PAUSE_IMAGE }]);
      expect(PAUSE_IMAGE).toBe('gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830');
    }
  });

  test('COS: preloaded installer image, host PID and network, install dir and partitioner', () => {
    const spec = pod(build());
    expect(spec.hostPID).toBe(true);
    expect(spec.hostNetwork).toBe(true);
    const installer = spec.initContainers[0];
    expect(installer.image).toBe('cos-nvidia-installer:fixed');
    expect(installer.imagePullPolicy).toBe('Never');
    expect(installer.command).toEqual(['bash', '-c', cosInstallScript('default')]);
    expect(installer.env).toContainEqual({ name: 'NVIDIA_INSTALL_DIR_HOST', value: '/home/kubernetes/bin/nvidia' });
    expect(installer.volumeMounts).toContainEqual({ name: 'nvidia-install-dir-host', mountPath: '/usr/local/nvidia' });
    expect(spec.volumes).toContainEqual({ name: 'root-mount', hostPath: { path: '/' } });
    expect(spec.initContainers[1].name).toBe('partition-gpus');
    expect(spec.initContainers[1].image).toBe(PARTITION_GPU_IMAGE);
    expect(PARTITION_GPU_IMAGE).toBe('gcr.io/gke-release/nvidia-partition-gpu@sha256:de12f85ebfb4fb6c1893cd30c23aab662a72fa0448f97ef74fccb82d7522ef17');
    expect(pod(build({ cosDriverVersion: 'latest', partitionGpus: false })).initContainers).toHaveLength(1);
    expect(pod(build({ cosDriverVersion: 'latest' })).initContainers[0].command).toEqual(['bash', '-c', cosInstallScript('latest')]);
  });

  test('COS install script: skips a loaded driver, fails on a failed install, opens the latest driver\'s folder to uid 1000', () => {
    for (const version of ['default', 'latest'] as const) {
      const script = cosInstallScript(version);
      expect(script).toMatch(/if lsmod \| grep nvidia; then\n[^\n]*\n  exit 0\n/);
      expect(script).toContain(version === 'latest' ? '/cos-gpu-installer install --version=latest || exit 1' : '/cos-gpu-installer install || exit 1');
      expect(script.includes('chmod 755 /root/home/kubernetes/bin/nvidia')).toBe(version === 'latest');
    }
  });

  test('Ubuntu: gke-nvidia-installer with /boot, no host namespaces (as Google publishes it)', () => {
    const spec = pod(build({ os: 'ubuntu' }));
    expect(spec.hostPID).toBeUndefined();
    expect(spec.initContainers).toHaveLength(1);
    expect(spec.initContainers[0].image).toBe('gke-nvidia-installer:fixed');
    expect(spec.initContainers[0].imagePullPolicy).toBe('Never');
    expect(spec.volumes.map((v: any) => v.name)).toEqual(['dev', 'boot', 'root-mount']);
  });

  test('rejects COS-only options on Ubuntu', () => {
    const c = chart();
    new NvidiaDriverInstaller(c, 'Installer', { os: 'ubuntu', partitionGpus: true });
    expect(validationErrors(c)).toEqual(['partitionGpus applies to COS nodes only']);
  });
});

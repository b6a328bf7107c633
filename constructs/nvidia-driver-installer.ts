import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import { GKE_ACCELERATOR_LABEL, GKE_CONFIDENTIAL_NODES_LABEL, GKE_GPU_DRIVER_VERSION_LABEL } from './gke';

/** Node OS image family the installer targets. */
export type DriverInstallerOs = 'cos' | 'ubuntu';

export interface NvidiaDriverInstallerProps {
  /** @default 'cos' */
  readonly os?: DriverInstallerOs;
  /** COS only: driver branch, `default` for the one the COS release pins or `latest`. @default 'default' */
  readonly cosDriverVersion?: 'default' | 'latest';
  /** COS only: run Google's `partition-gpus` init container, which applies a MIG layout from /etc/nvidia when one exists. @default true */
  readonly partitionGpus?: boolean;
  /** Installer image. GKE preloads it on GPU nodes, hence the `:fixed` tag. @default 'cos-nvidia-installer:fixed' (COS) or 'gke-nvidia-installer:fixed' (Ubuntu) */
  readonly image?: string;
  /** @default PAUSE_IMAGE (Google's pause 3.8, pinned by digest) */
  readonly pauseImage?: string;
  /** @default 'kube-system' */
  readonly namespace?: string;
}

/**
 * Upstream: GoogleCloudPlatform/container-engine-accelerators at HEAD 992db81 (2026-06-11),
 * nvidia-driver-installer/cos/daemonset-preloaded.yaml, daemonset-preloaded-latest.yaml and
 * ubuntu/daemonset-preloaded.yaml. Every image and script below is checked against those files.
 */

/** Google's MIG partitioner, pinned by digest as in the COS DaemonSets at HEAD 992db81 (updated there 2025-04-02, 4da5c076). */
export const PARTITION_GPU_IMAGE =
  'gcr.io/gke-release/nvidia-partition-gpu@sha256:de12f85ebfb4fb6c1893cd30c23aab662a72fa0448f97ef74fccb82d7522ef17';

/**
 * The keep-alive container of every upstream installer DaemonSet at HEAD 992db81: pause 3.8 from gke.gcr.io, by digest.
 * (pause:2.0 from gcr.io/google-containers is a Docker schema 1 image, which containerd 2 — GKE 1.33+ — refuses.)
 */
export const PAUSE_IMAGE = 'gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830';

/**
 * The COS installer's command at HEAD: skip when a driver module is loaded already, fail the pod when the install
 * fails, and with --version=latest open the install folder to non-root containers (the server runs as uid 1000).
 */
export function cosInstallScript(version: 'default' | 'latest'): string {
  const install = version === 'latest'
    ? ['/cos-gpu-installer install --version=latest || exit 1', 'chmod 755 /root/home/kubernetes/bin/nvidia']
    : ['/cos-gpu-installer install || exit 1'];
  return [
    'echo "Checking for existing GPU driver modules"',
    'if lsmod | grep nvidia; then',
    '  echo "GPU driver is already installed, skipping installation"',
    '  exit 0',
    'else',
    '  echo "No GPU driver module detected, installing now"',
    ...install.map((line) => `  ${line}`),
    'fi',
    '',
  ].join('\n');
}

const hostPath = (name: string, path: string): k8s.Volume => ({ name, hostPath: { path } });
const mount = (name: string, mountPath: string): k8s.VolumeMount => ({ name, mountPath });
// As upstream writes it (150m).
const installerCpu = { requests: { cpu: k8s.Quantity.fromString('150m') } };

/**
 * Google's `nvidia-driver-installer` DaemonSet for GPU nodes whose pool has driver installation disabled, following
 * GoogleCloudPlatform/container-engine-accelerators nvidia-driver-installer/{cos,ubuntu}/daemonset-preloaded.yaml:
 * a privileged init container installs the driver into the host, then a pause container keeps the pod alive.
 * It schedules only onto GPU nodes that GKE does not manage drivers for (no gke-gpu-driver-version label) and, on COS,
 * not onto Confidential nodes. Prefer GKE-managed drivers (GpuNodePool driverVersion 'latest' or 'default'); this is
 * for pools with installation disabled.
 */
export class NvidiaDriverInstaller extends Construct {
  public readonly daemonSet: k8s.KubeDaemonSet;

  constructor(scope: Construct, id: string, props: NvidiaDriverInstallerProps = {}) {
    super(scope, id);
    const os = props.os ?? 'cos';
    const labels = { 'k8s-app': 'nvidia-driver-installer' };

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (os !== 'cos' && os !== 'ubuntu') errors.push(`os "${os}" must be "cos" or "ubuntu"`);
        if (os === 'ubuntu' && props.cosDriverVersion !== undefined) errors.push('cosDriverVersion applies to COS nodes only');
        if (os === 'ubuntu' && props.partitionGpus !== undefined) errors.push('partitionGpus applies to COS nodes only');
        return errors;
      },
    });

    const pod = os === 'cos' ? cosPod(props) : ubuntuPod(props);
    this.daemonSet = new k8s.KubeDaemonSet(this, 'DaemonSet', {
      metadata: { name: 'nvidia-driver-installer', namespace: props.namespace ?? 'kube-system', labels },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels: { name: 'nvidia-driver-installer', ...labels } },
          spec: {
            priorityClassName: 'system-node-critical',
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{
                    matchExpressions: [
                      { key: GKE_ACCELERATOR_LABEL, operator: 'Exists' },
                      { key: GKE_GPU_DRIVER_VERSION_LABEL, operator: 'DoesNotExist' },
                      // Only the COS DaemonSets exclude Confidential nodes at HEAD.
                      ...(os === 'cos' ? [{ key: GKE_CONFIDENTIAL_NODES_LABEL, operator: 'DoesNotExist' }] : []),
                    ],
                  }],
                },
              },
            },
            // Tolerate every taint: the driver must land before anything else can use the GPU.
            tolerations: [{ operator: 'Exists' }],
            ...pod,
            containers: [{ name: 'pause', image: props.pauseImage ?? PAUSE_IMAGE }],
          },
        },
      },
    });
  }
}

function cosPod(props: NvidiaDriverInstallerProps): Omit<k8s.PodSpec, 'containers'> {
  const installDirHost = '/home/kubernetes/bin/nvidia';
  const vulkanHost = `${installDirHost}/vulkan/icd.d`;
  const initContainers: k8s.Container[] = [{
    name: 'nvidia-driver-installer',
    image: props.image ?? 'cos-nvidia-installer:fixed',
    // The image is preloaded on the node and not in any registry.
    imagePullPolicy: 'Never',
    resources: installerCpu,
    securityContext: { privileged: true },
    env: [
      { name: 'NVIDIA_INSTALL_DIR_HOST', value: installDirHost },
      { name: 'NVIDIA_INSTALL_DIR_CONTAINER', value: '/usr/local/nvidia' },
      { name: 'VULKAN_ICD_DIR_HOST', value: vulkanHost },
      { name: 'VULKAN_ICD_DIR_CONTAINER', value: '/etc/vulkan/icd.d' },
      { name: 'ROOT_MOUNT_DIR', value: '/root' },
      { name: 'COS_TOOLS_DIR_HOST', value: '/var/lib/cos-tools' },
      { name: 'COS_TOOLS_DIR_CONTAINER', value: '/build/cos-tools' },
    ],
    volumeMounts: [
      mount('nvidia-install-dir-host', '/usr/local/nvidia'),
      mount('vulkan-icd-mount', '/etc/vulkan/icd.d'),
      mount('dev', '/dev'),
      mount('root-mount', '/root'),
      mount('cos-tools', '/build/cos-tools'),
    ],
    command: ['bash', '-c', cosInstallScript(props.cosDriverVersion ?? 'default')],
  }];
  if (props.partitionGpus ?? true) {
    initContainers.push({
      name: 'partition-gpus',
      image: PARTITION_GPU_IMAGE,
      env: [{ name: 'LD_LIBRARY_PATH', value: '/usr/local/nvidia/lib64' }],
      resources: installerCpu,
      securityContext: { privileged: true },
      volumeMounts: [mount('nvidia-install-dir-host', '/usr/local/nvidia'), mount('dev', '/dev'), mount('nvidia-config', '/etc/nvidia')],
    });
  }
  return {
    hostNetwork: true,
    hostPid: true,
    volumes: [
      hostPath('dev', '/dev'),
      hostPath('vulkan-icd-mount', vulkanHost),
      hostPath('nvidia-install-dir-host', installDirHost),
      hostPath('root-mount', '/'),
      hostPath('cos-tools', '/var/lib/cos-tools'),
      hostPath('nvidia-config', '/etc/nvidia'),
    ],
    initContainers,
  };
}

function ubuntuPod(props: NvidiaDriverInstallerProps): Omit<k8s.PodSpec, 'containers'> {
  // Google's Ubuntu DaemonSet uses neither host networking nor the host PID namespace.
  return {
    volumes: [hostPath('dev', '/dev'), hostPath('boot', '/boot'), hostPath('root-mount', '/')],
    initContainers: [{
      name: 'nvidia-driver-installer',
      image: props.image ?? 'gke-nvidia-installer:fixed',
      // Preloaded on the node like the COS one (upstream leaves the policy to the default, IfNotPresent for this tag);
      // Never makes a missing image an explicit ErrImageNeverPull instead of a pull from Docker Hub.
      imagePullPolicy: 'Never',
      resources: installerCpu,
      securityContext: { privileged: true },
      volumeMounts: [mount('boot', '/boot'), mount('dev', '/dev'), mount('root-mount', '/root')],
    }],
  };
}

import * as k8s from 'cdk8s-plus-27/lib/imports/k8s';
import { Construct } from 'constructs';
import { GKE_ACCELERATOR_LABEL, GKE_GPU_DRIVER_VERSION_LABEL } from './gke';

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
  /** @default 'gcr.io/google-containers/pause:2.0' */
  readonly pauseImage?: string;
  /** @default 'kube-system' */
  readonly namespace?: string;
}

/** Google's MIG partitioner, pinned by digest as in its published DaemonSet. */
const PARTITION_GPU_IMAGE =
  'gcr.io/gke-release/nvidia-partition-gpu@sha256:c54fd003948fac687c2a93a55ea6e4d47ffbd641278a9191e75e822fe72471c2';

const hostPath = (name: string, path: string): k8s.Volume => ({ name, hostPath: { path } });
const mount = (name: string, mountPath: string): k8s.VolumeMount => ({ name, mountPath });
// Written as Google writes it (0.15 CPU).
const installerCpu = { requests: { cpu: k8s.Quantity.fromString('0.15') } };

/**
 * Google's `nvidia-driver-installer` DaemonSet for GPU nodes whose pool has driver installation disabled, following
 * GoogleCloudPlatform/container-engine-accelerators nvidia-driver-installer/{cos,ubuntu}/daemonset-preloaded.yaml:
 * a privileged init container installs the driver into the host, then a pause container keeps the pod alive.
 * It schedules only onto GPU nodes that GKE does not manage drivers for (no gke-gpu-driver-version label).
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
                    ],
                  }],
                },
              },
            },
            // Tolerate every taint: the driver must land before anything else can use the GPU.
            tolerations: [{ operator: 'Exists' }],
            ...pod,
            containers: [{ name: 'pause', image: props.pauseImage ?? 'gcr.io/google-containers/pause:2.0' }],
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
    command: props.cosDriverVersion === 'latest' ? ['/cos-gpu-installer', 'install', '--version=latest'] : undefined,
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
      resources: installerCpu,
      securityContext: { privileged: true },
      volumeMounts: [mount('boot', '/boot'), mount('dev', '/dev'), mount('root-mount', '/root')],
    }],
  };
}

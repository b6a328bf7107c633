export * from './gke';
export * from './inference-server';
export * from './gpu-node-pool';
export * from './nvidia-driver-installer';
export * from './ngc-pull-secret';
export * from './gcs-model-repository';
export * from './inference-autoscaler';
export * from './custom-metrics-adapter';

import { Chart } from 'cdk8s';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import { gcsBucketNameProblem } from '../server/contract';
import { isDnsLabel, isDnsSubdomain } from './gke';
import { ABANDON_ON_DELETE } from './gpu-node-pool';
import { IamPolicyMember } from './imports/iampolicymembers-iam.cnrm.cloud.google.com';
import { IamServiceAccount } from './imports/iamserviceaccounts-iam.cnrm.cloud.google.com';
import { StorageBucket } from './imports/storagebuckets-storage.cnrm.cloud.google.com';

export interface GcsModelRepositoryProps {
  /** Google Cloud project of the bucket, the service account and the cluster's Workload Identity pool. */
  readonly projectId: string;
  /** Bucket name (globally unique). */
  readonly bucketName: string;
  /** The bucket exists already and is not managed here: only the IAM binding on it is made. @default false */
  readonly existingBucket?: boolean;
  /** @default 'US' */
  readonly location?: string;
  /** Folder in the bucket that holds the model repository (what `gcloud storage cp -r` uploads). @default 'model_repository' */
  readonly modelPath?: string;
  /** Namespace of the server pods and their Kubernetes ServiceAccount. @default - the chart's namespace, else 'default' */
  readonly namespace?: string;
  /** Namespace Config Connector manages the project's resources from. @default - `namespace` */
  readonly configConnectorNamespace?: string;
  /** Kubernetes ServiceAccount the server runs as. @default 'inference-server' */
  readonly serviceAccountName?: string;
  /** Google service account id (6–30 characters). @default - `<serviceAccountName>-gcs`, shortened to 30 characters */
  readonly gcpServiceAccountId?: string;
  /**
   * Where the Kubernetes ServiceAccount goes when the Config Connector objects and the workload are applied to different
   * clusters (a chart of the workload). @default - this construct
   */
  readonly serviceAccountScope?: Construct;
  /** Keep the bucket (and its models) and the Google service account when their objects are deleted. @default true */
  readonly abandonOnDelete?: boolean;
}

/**
 * A Cloud Storage model repository the server reads through Workload Identity: a StorageBucket (unless it exists),
 * a Google service account with roles/storage.objectViewer on the bucket, the roles/iam.workloadIdentityUser binding
 * that lets the Kubernetes ServiceAccount act as it, and that ServiceAccount with its `iam.gke.io/gcp-service-account`
 * annotation. No keys are created.
 */
export class GcsModelRepository extends Construct {
  /** The `--model-repository` value. */
  public readonly modelRepositoryUrl: string;
  /** The Kubernetes ServiceAccount to run the server as. */
  public readonly serviceAccountName: string;
  public readonly gcpServiceAccountEmail: string;
  public readonly bucket?: StorageBucket;

  constructor(scope: Construct, id: string, props: GcsModelRepositoryProps) {
    super(scope, id);
    const namespace = props.namespace ?? Chart.of(this).namespace ?? 'default';
    const cnrmNamespace = props.configConnectorNamespace ?? namespace;
    const ksa = props.serviceAccountName ?? 'inference-server';
    const gsa = props.gcpServiceAccountId ?? `${ksa}-gcs`.slice(0, 30).replace(/-+$/, '');
    const modelPath = (props.modelPath ?? 'model_repository').replace(/^\/+|\/+$/g, '');
    this.serviceAccountName = ksa;
    this.gcpServiceAccountEmail = `${gsa}@${props.projectId}.iam.gserviceaccount.com`;
    this.modelRepositoryUrl = modelPath ? `gs://${props.bucketName}/${modelPath}` : `gs://${props.bucketName}`;
    const cnrm = (name: string, keep = false) => ({
      name,
      namespace: cnrmNamespace,
      annotations: {
        'cnrm.cloud.google.com/project-id': props.projectId,
        ...(keep && (props.abandonOnDelete ?? true) ? ABANDON_ON_DELETE : {}),
      },
    });

    this.node.addValidation({ validate: () => validateProps(props, ksa, gsa) });

    if (!props.existingBucket) {
      this.bucket = new StorageBucket(this, 'Bucket', {
        metadata: cnrm(props.bucketName, true),
        spec: {
          location: props.location ?? 'US',
          uniformBucketLevelAccess: true,
          publicAccessPrevention: 'enforced',
        },
      });
    }

    new IamServiceAccount(this, 'GcpServiceAccount', {
      metadata: cnrm(gsa, true),
      spec: { displayName: `Reads models from gs://${props.bucketName} for ${namespace}/${ksa}` },
    });

    new IamPolicyMember(this, 'BucketReader', {
      metadata: cnrm(`${gsa}-object-viewer`),
      spec: {
        // An unmanaged bucket is referenced by its name.
        resourceRef: props.existingBucket
          ? { kind: 'StorageBucket', external: props.bucketName }
          : { kind: 'StorageBucket', name: props.bucketName },
        role: 'roles/storage.objectViewer',
        memberFrom: { serviceAccountRef: { name: gsa } },
      },
    });

    new IamPolicyMember(this, 'WorkloadIdentity', {
      metadata: cnrm(`${gsa}-workload-identity`),
      spec: {
        resourceRef: { kind: 'IAMServiceAccount', name: gsa },
        role: 'roles/iam.workloadIdentityUser',
        member: `serviceAccount:${props.projectId}.svc.id.goog[${namespace}/${ksa}]`,
      },
    });

    const ksaScope = props.serviceAccountScope ?? this;
    new k8s.KubeServiceAccount(ksaScope, ksaScope === this ? 'ServiceAccount' : `${id}ServiceAccount`, {
      metadata: {
        name: ksa,
        namespace,
        annotations: { 'iam.gke.io/gcp-service-account': this.gcpServiceAccountEmail },
      },
      // Workload Identity goes through the GKE metadata server, not the Kubernetes token.
      automountServiceAccountToken: false,
    });
  }
}

function validateProps(p: GcsModelRepositoryProps, ksa: string, gsa: string): string[] {
  const errors: string[] = [];
  if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(p.projectId)) {
    errors.push(`projectId "${p.projectId}" is not a Google Cloud project id (6–30 lowercase letters, digits, '-')`);
  }
  const bucketProblem = gcsBucketNameProblem(p.bucketName);
  if (bucketProblem) errors.push(`bucketName "${p.bucketName}" is not a valid Cloud Storage bucket name: ${bucketProblem}`);
  if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(gsa)) {
    errors.push(`Google service account id "${gsa}" must be 6–30 lowercase letters, digits or '-': set gcpServiceAccountId`);
  }
  if (!isDnsSubdomain(ksa)) errors.push(`serviceAccountName "${ksa}" is not a valid Kubernetes name`);
  if (p.namespace !== undefined && !isDnsLabel(p.namespace)) errors.push(`namespace "${p.namespace}" is not a valid namespace name`);
  return errors;
}

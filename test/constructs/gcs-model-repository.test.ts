import { GcsModelRepository, GcsModelRepositoryProps } from '../../constructs';
import { chart, find, Manifest, schemaErrors, synth, validationErrors } from './helpers';

const base: GcsModelRepositoryProps = { projectId: 'my-project', bucketName: 'my-models' };

function build(props: Partial<GcsModelRepositoryProps> = {}): { m: Manifest[]; repo: GcsModelRepository } {
  const c = chart('serving');
  const repo = new GcsModelRepository(c, 'Repo', { ...base, ...props });
  return { m: synth(c), repo };
}

describe('GcsModelRepository', () => {
  test('passes the CRD and Kubernetes schemas', () => {
    expect(schemaErrors(build().m)).toEqual([]);
    expect(schemaErrors(build({ existingBucket: true }).m)).toEqual([]);
  });

  test('bucket, Google service account, objectViewer and Workload Identity bindings, annotated ServiceAccount', () => {
    const { m, repo } = build();
    expect(repo.modelRepositoryUrl).toBe('gs://my-models/model_repository');
    const bucket = find(m, 'StorageBucket', 'my-models');
    expect(bucket.spec).toMatchObject({ uniformBucketLevelAccess: true, publicAccessPrevention: 'enforced', location: 'US' });
    // kubectl delete keeps the bucket (and the models in it) and the Google service account.
    expect(bucket.metadata.annotations).toEqual({ 'cnrm.cloud.google.com/project-id': 'my-project', 'cnrm.cloud.google.com/deletion-policy': 'abandon' });
    expect(find(m, 'IAMServiceAccount', 'inference-server-gcs').metadata.annotations?.['cnrm.cloud.google.com/deletion-policy']).toBe('abandon');
    expect(find(m, 'IAMPolicyMember', 'inference-server-gcs-object-viewer').metadata.annotations?.['cnrm.cloud.google.com/deletion-policy']).toBeUndefined();
    expect(find(m, 'IAMPolicyMember', 'inference-server-gcs-object-viewer').spec).toEqual({
      resourceRef: { kind: 'StorageBucket', name: 'my-models' },
      role: 'roles/storage.objectViewer',
      memberFrom: { serviceAccountRef: { name: 'inference-server-gcs' } },
    });
    expect(find(m, 'IAMPolicyMember', 'inference-server-gcs-workload-identity').spec).toEqual({
      resourceRef: { kind: 'IAMServiceAccount', name: 'inference-server-gcs' },
      role: 'roles/iam.workloadIdentityUser',
      member: 'serviceAccount:my-project.svc.id.goog[serving/inference-server]',
    });
    const ksa = find(m, 'ServiceAccount', 'inference-server');
    expect(ksa.metadata.namespace).toBe('serving');
    expect(ksa.metadata.annotations).toEqual({ 'iam.gke.io/gcp-service-account': 'inference-server-gcs@my-project.iam.gserviceaccount.com' });
  });

  test('an existing bucket gets only the binding, by external name', () => {
    const { m } = build({ existingBucket: true, modelPath: '/repo/' });
    expect(m.filter((o) => o.kind === 'StorageBucket')).toEqual([]);
    expect(find(m, 'IAMPolicyMember', 'inference-server-gcs-object-viewer').spec.resourceRef).toEqual({ kind: 'StorageBucket', external: 'my-models' });
  });

  test('Config Connector objects may live in another namespace than the pods', () => {
    const { m, repo } = build({ configConnectorNamespace: 'cnrm', namespace: 'apps', serviceAccountName: 'reader', modelPath: 'v2' });
    expect(repo.modelRepositoryUrl).toBe('gs://my-models/v2');
    expect(find(m, 'IAMServiceAccount').metadata.namespace).toBe('cnrm');
    expect(find(m, 'ServiceAccount', 'reader').metadata.namespace).toBe('apps');
    expect(find(m, 'IAMPolicyMember', 'reader-gcs-workload-identity').spec.member).toBe('serviceAccount:my-project.svc.id.goog[apps/reader]');
  });

  test('validation messages say what to fix', () => {
    const errorsOf = (props: Partial<GcsModelRepositoryProps>) => {
      const c = chart();
      new GcsModelRepository(c, 'Repo', { ...base, ...props });
      return validationErrors(c);
    };
    expect(errorsOf({ projectId: 'My Project' })[0]).toMatch(/projectId "My Project" is not a Google Cloud project id/);
    expect(errorsOf({ bucketName: 'Bad Bucket' })[0]).toBe(`bucketName "Bad Bucket" is not a valid Cloud Storage bucket name: bucket names hold only lowercase letters, digits, '-', '_' and '.'`);
    expect(errorsOf({ gcpServiceAccountId: 'gsa' })[0]).toMatch(/must be 6–30 lowercase/);
    expect(errorsOf({})).toEqual([]);
  });
});

import type { Storage } from '@google-cloud/storage';
import { httpStatusOf } from './retry';

/** Where the credentials for Cloud Storage requests come from, named in every access error. */
export interface CredentialInfo {
  readonly kind: 'custom-endpoint' | 'credentials-file' | 'metadata-server' | 'gcloud' | 'anonymous' | 'error';
  /** Human-readable, e.g. "the GKE/GCE metadata server (Workload Identity or the node's service account) as x@p.iam.gserviceaccount.com". */
  readonly description: string;
  readonly email?: string;
  /** When ADC itself failed (e.g. GOOGLE_APPLICATION_CREDENTIALS names a missing file): requests will fail with this. */
  readonly error?: string;
}

const NO_ADC = 'Could not load the default credentials';

/**
 * Resolve Application Default Credentials the way @google-cloud/storage will: GOOGLE_APPLICATION_CREDENTIALS, then
 * gcloud's well-known file, then the metadata server (GKE Workload Identity). Without any, the client sends requests
 * unauthenticated, which public buckets accept.
 */
export async function detectCredentials(storage: Storage, env: NodeJS.ProcessEnv = process.env): Promise<CredentialInfo> {
  const service = storage as unknown as { customEndpoint?: boolean; useAuthWithCustomEndpoint?: boolean; apiEndpoint: string };
  if (service.customEndpoint && !service.useAuthWithCustomEndpoint) {
    return { kind: 'custom-endpoint', description: `no credentials: custom endpoint ${service.apiEndpoint} is used unauthenticated` };
  }
  let client: object;
  try {
    client = await storage.authClient.getClient();
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (message.includes(NO_ADC)) {
      return {
        kind: 'anonymous',
        description:
          'anonymous access: no Application Default Credentials were found (GOOGLE_APPLICATION_CREDENTIALS is unset, ' +
          'no gcloud application-default credentials file, no metadata server)',
      };
    }
    const file = env.GOOGLE_APPLICATION_CREDENTIALS;
    return {
      kind: 'error',
      description: file ? `GOOGLE_APPLICATION_CREDENTIALS=${file}` : 'Application Default Credentials',
      error: message,
    };
  }
  const email = await emailOf(storage);
  const as = email ? ` as ${email}` : '';
  if (client.constructor.name === 'Compute') {
    return {
      kind: 'metadata-server',
      description: `the GKE/GCE metadata server (Workload Identity or the node's service account)${as}`,
      email,
    };
  }
  const file = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (file) return { kind: 'credentials-file', description: `the credentials file GOOGLE_APPLICATION_CREDENTIALS=${file}${as}`, email };
  return { kind: 'gcloud', description: `gcloud application-default credentials${as}`, email };
}

async function emailOf(storage: Storage): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 2000);
  });
  try {
    const credentials = await Promise.race([storage.authClient.getCredentials().catch(() => undefined), timeout]);
    return credentials?.client_email || undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** An access failure (401/403/404 on the bucket) as a message naming the bucket, the credentials and what to do. */
export function describeAccessError(error: unknown, what: string, bucket: string, credentials: CredentialInfo): string | undefined {
  const detail = shortMessage(error);
  // @google-cloud/storage replaces a 401 answer to an unauthenticated request with ADC's "Could not load..." error.
  const status = httpStatusOf(error) ?? (detail.includes(NO_ADC) ? 401 : undefined);
  if (credentials.kind === 'error') {
    return `cannot read ${what}: Application Default Credentials from ${credentials.description} failed: ${credentials.error}`;
  }
  if (status === 401 || status === 403) {
    const hint =
      credentials.kind === 'anonymous'
        ? `gs://${bucket} is not public: run the server with GKE Workload Identity (a Kubernetes ServiceAccount annotated ` +
          `iam.gke.io/gcp-service-account) or set GOOGLE_APPLICATION_CREDENTIALS`
        : `grant roles/storage.objectViewer on gs://${bucket} to ${credentials.email ?? 'that identity'}`;
    return `access to ${what} denied (HTTP ${status}: ${detail}) using ${credentials.description}; ${hint}`;
  }
  if (status === 404 && /bucket/i.test(detail)) {
    return `cannot read ${what}: bucket '${bucket}' does not exist (HTTP 404) (credentials: ${credentials.description})`;
  }
  return undefined;
}

export function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // ApiError messages sometimes are the JSON body; keep its message field.
  try {
    const parsed = JSON.parse(message) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // not JSON
  }
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

export { GcsRepositorySource, GcsRepositorySourceOptions, fingerprintOf } from './gcs-source';
export { CredentialInfo, detectCredentials } from './credentials';
export { RetryOptions, IntegrityError, isTransient, withRetry } from './retry';
export { GcsLocation, isGcsUri, parseGcsUri } from './uri';

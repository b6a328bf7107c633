import { gcsBucketNameProblem } from '../../contract';

/** `gs://bucket/some/prefix` → bucket and prefix (no leading or trailing slash; '' for the bucket's root). */
export interface GcsLocation {
  readonly bucket: string;
  readonly prefix: string;
}

export function isGcsUri(root: string): boolean {
  return root.startsWith('gs://');
}

export function parseGcsUri(uri: string): GcsLocation {
  const match = /^gs:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!match) throw new Error(`model repository '${uri}': expected gs://<bucket>[/<path>]`);
  const bucket = match[1];
  const problem = gcsBucketNameProblem(bucket);
  if (problem) throw new Error(`model repository '${uri}': '${bucket}' is not a valid Cloud Storage bucket name: ${problem}`);
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '' && !isSafeRelativePath(prefix)) {
    throw new Error(`model repository '${uri}': the path must not contain empty, '.' or '..' segments`);
  }
  return { bucket, prefix };
}

/** A '/'-separated relative path that cannot escape the directory it is joined to. */
export function isSafeRelativePath(relative: string): boolean {
  if (relative === '' || relative.includes('\\') || relative.includes('\0')) return false;
  return relative.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export function gcsUri(bucket: string, objectName: string): string {
  return `gs://${bucket}/${objectName}`;
}

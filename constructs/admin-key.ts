import { RESTRICTED_API_GROUPS } from '../server/contract';
import { isDnsSubdomain } from './gke';

/** Endpoint groups the server can restrict (Triton's RESTRICTED_CATEGORY_NAMES), from the server's contract. */
export const RESTRICTABLE_GROUPS = RESTRICTED_API_GROUPS;
export type RestrictableGroup = (typeof RESTRICTABLE_GROUPS)[number];

/** What a deployment keeps behind the admin key unless told otherwise: everything but health, metadata and inference. */
export const ADMIN_GROUPS: readonly RestrictableGroup[] = ['shared-memory', 'model-config', 'model-repository', 'statistics', 'trace', 'logging'];

/** The container environment variable that carries the admin key from its Secret into the args (`$(VAR)` expansion). */
export const ADMIN_KEY_ENV = 'ADMIN_API_KEY';

/**
 * Admin endpoints behind a key from a Kubernetes Secret: the key reaches the server through an environment variable
 * (secretKeyRef) expanded by the kubelet in the args, so it is never written into the manifest. Clients send it as the
 * HTTP header `<header>`, or the gRPC metadata `triton-grpc-protocol-<header>` (Triton's prefix).
 */
export interface AdminKey {
  /** The Secret holding the key, made by you (`kubectl create secret generic`). @default '<name>-admin-key' */
  readonly secretName?: string;
  /** The key of the Secret's data. @default 'admin-key' */
  readonly secretKey?: string;
  /** Header name clients send the key in (lowercase: it is gRPC metadata too). @default 'admin-key' */
  readonly header?: string;
  /** The groups behind the key. @default ADMIN_GROUPS */
  readonly groups?: readonly RestrictableGroup[];
}

/** What is wrong with an AdminKey, in words that say what to fix. */
export function adminKeyErrors(key: AdminKey): string[] {
  const errors: string[] = [];
  if (key.secretName !== undefined && !isDnsSubdomain(key.secretName)) errors.push(`adminKey.secretName "${key.secretName}" is not a valid Secret name`);
  if (key.secretKey !== undefined && !/^[-._a-zA-Z0-9]+$/.test(key.secretKey)) errors.push(`adminKey.secretKey "${key.secretKey}" is not a valid Secret data key`);
  // An HTTP header and a gRPC metadata key at once: lowercase token characters only.
  if (key.header !== undefined && !/^[a-z0-9][-a-z0-9_.]*$/.test(key.header)) errors.push(`adminKey.header "${key.header}" must be lowercase letters, digits, '-', '_' or '.'`);
  const groups = key.groups ?? ADMIN_GROUPS;
  if (groups.length === 0) errors.push('adminKey.groups is empty: name the groups to restrict, or set adminKey: false');
  for (const group of groups) {
    if (!(RESTRICTABLE_GROUPS as readonly string[]).includes(group)) errors.push(`adminKey.groups: "${group}" is not one of ${RESTRICTABLE_GROUPS.join(', ')}`);
  }
  if (new Set(groups).size !== groups.length) errors.push('adminKey.groups names a group twice');
  return errors;
}

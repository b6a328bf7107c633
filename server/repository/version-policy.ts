/**
 * Which version directories of a model are served, by the config's version_policy (Triton's rules):
 * latest{num_versions} serves the highest N, all serves every one, specific serves the listed
 * versions that exist. A missing policy means latest 1.
 */
import type { ModelVersionPolicy } from '../config/model-config';

const DEFAULT_POLICY: ModelVersionPolicy = { latest: { num_versions: 1 } };

/**
 * A version directory's number, or undefined when the name is not a version: versions are
 * positive decimal integers ("1", "42"); names like "01", "0", "1a" or "config" are not.
 */
export function parseVersionDirectory(name: string): number | undefined {
  if (!/^[1-9]\d*$/.test(name)) return undefined;
  const version = Number(name);
  return Number.isSafeInteger(version) ? version : undefined;
}

/**
 * The versions to serve, ascending. Empty when the policy selects none, for which Triton reports
 * `at least one version must be available under the version policy of model '<m>'`.
 */
export function selectVersions(policy: ModelVersionPolicy | undefined, available: readonly number[]): number[] {
  const present = [...new Set(available)].sort((a, b) => a - b);
  const chosen = policy && (policy.latest || policy.all || policy.specific) ? policy : DEFAULT_POLICY;
  if (chosen.specific) {
    const wanted = new Set(chosen.specific.versions ?? []);
    return present.filter((version) => wanted.has(version));
  }
  if (chosen.all) return present;
  // latest: num_versions 0 selects nothing, as in Triton.
  const count = chosen.latest?.num_versions ?? 0;
  return count <= 0 ? [] : present.slice(Math.max(present.length - count, 0));
}

/** Versions a specific policy names that have no directory (Triton logs these as errors). */
export function missingSpecificVersions(policy: ModelVersionPolicy | undefined, available: readonly number[]): number[] {
  const present = new Set(available);
  return [...new Set(policy?.specific?.versions ?? [])].filter((version) => !present.has(version)).sort((a, b) => a - b);
}

/** Triton's message when a policy leaves no version to load. */
export function noVersionAvailableMessage(modelName: string): string {
  return `at least one version must be available under the version policy of model '${modelName}'`;
}

/** A model whose file lies in the model folder itself: Triton's layout wants it in a numbered version folder. */
export function missingVersionFolderMessage(modelName: string, file: string): string {
  return (
    `model '${modelName}' has no version folder: '${file}' lies directly in the model folder, but model files go in a ` +
    `numbered version folder (${modelName}/1/${file})`
  );
}

import * as fs from 'fs';
import { Yaml } from 'cdk8s';

/** A parameter's type and default, as a ksonnet prototype declared them. */
export interface ParamSpec {
  readonly type: 'string' | 'number' | 'boolean';
  /** Undefined: the parameter is required. */
  readonly default?: string | number | boolean;
  readonly description: string;
  /** A required parameter (no default) that may be left out when another parameter has this value. */
  readonly optionalWhen?: { readonly param: string; readonly equals: string | number | boolean };
}

export type ParamSpecs = Record<string, ParamSpec>;
export type ParamValues = Record<string, string | number | boolean>;

/** Prefix of the environment variables that set parameters: numGpus ← INFERENCE_NUM_GPUS. */
export const ENV_PREFIX = 'INFERENCE_';

/** Environment variable naming a YAML params file. */
export const PARAMS_FILE_ENV = 'INFERENCE_PARAMS_FILE';

/** Params file read when PARAMS_FILE_ENV is unset. */
export const DEFAULT_PARAMS_FILE = 'prototypes/params.yaml';

/** `modelRepositoryPath` → `INFERENCE_MODEL_REPOSITORY_PATH`. */
export function envName(param: string): string {
  return ENV_PREFIX + param.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Reads the params file (a flat YAML mapping), if any. Keys that are not parameters are kept for the caller to reject. */
export function readParamsFile(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const file = env[PARAMS_FILE_ENV] ?? DEFAULT_PARAMS_FILE;
  if (!fs.existsSync(file)) {
    if (env[PARAMS_FILE_ENV] !== undefined) throw new Error(`${PARAMS_FILE_ENV}=${file}: no such file`);
    return {};
  }
  const docs = Yaml.load(file);
  const doc: unknown = docs[0] ?? {};
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${file} must be a YAML mapping of parameter: value`);
  return doc as Record<string, unknown>;
}

/**
 * Resolves parameters: defaults, then the params file, then INFERENCE_* environment variables.
 * Throws one error listing every missing, unknown or mistyped parameter. A params file may hold the parameters of
 * several prototypes: keys that belong to one of `otherPrototypes` (prototype name → its specs) are ignored with one
 * warning; only keys no prototype knows are errors.
 */
export function resolveParams(
  specs: ParamSpecs,
  file: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  otherPrototypes: Record<string, ParamSpecs> = {},
  warn: (message: string) => void = console.warn,
): ParamValues {
  const values: ParamValues = {};
  const errors: string[] = [];
  const ignored: string[] = [];
  for (const key of Object.keys(file)) {
    if (key in specs || key === 'prototype') continue;
    const owners = Object.entries(otherPrototypes).filter(([, other]) => key in other).map(([name]) => name);
    if (owners.length > 0) ignored.push(`"${key}" (${owners.join(', ')})`);
    else errors.push(`unknown parameter "${key}" in the params file`);
  }
  if (ignored.length > 0) warn(`ignoring params file keys of another prototype: ${ignored.join(', ')}`);
  const unknownEnv = unknownEnvironmentVariables(env, [specs, ...Object.values(otherPrototypes)]);
  if (unknownEnv.length > 0) warn(`ignoring unknown environment variables: ${unknownEnv.join(', ')}`);
  const rawValue = (key: string): unknown => {
    const fromEnv = env[envName(key)];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : file[key] ?? specs[key]?.default;
  };
  const exempt = (spec: ParamSpec) => spec.optionalWhen !== undefined
    && coerce(rawValue(spec.optionalWhen.param), specs[spec.optionalWhen.param]?.type ?? 'string') === spec.optionalWhen.equals;
  for (const [key, spec] of Object.entries(specs)) {
    const raw = rawValue(key);
    if (raw === undefined || raw === null || raw === '') {
      if (spec.default === undefined && !exempt(spec)) errors.push(`missing required parameter "${key}" (${spec.description}); set ${envName(key)} or "${key}:" in the params file`);
      continue;
    }
    const value = coerce(raw, spec.type);
    if (value === undefined) errors.push(`parameter "${key}" must be a ${spec.type}, got ${JSON.stringify(raw)}`);
    else values[key] = value;
  }
  if (errors.length > 0) throw new Error(`Invalid parameters:\n  ${errors.join('\n  ')}`);
  return values;
}

/** Variables that are not parameters of the prototypes, with the parameter meant when one is close (INFERENCE_NUMGPUS). */
function unknownEnvironmentVariables(env: NodeJS.ProcessEnv, allSpecs: ParamSpecs[]): string[] {
  const known = new Map<string, string>();
  for (const specs of allSpecs) for (const key of Object.keys(specs)) known.set(envName(key), key);
  const fixed = new Set([PARAMS_FILE_ENV, `${ENV_PREFIX}PROTOTYPE`]);
  // Same letters without the underscores: INFERENCE_NUMGPUS is INFERENCE_NUM_GPUS mistyped.
  const squashed = new Map([...known.keys()].map((name) => [name.replace(/_/g, ''), name]));
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.has(name) && !fixed.has(name))
    .sort()
    .map((name) => {
      const meant = squashed.get(name.toUpperCase().replace(/_/g, ''));
      return meant ? `${name} (did you mean ${meant}?)` : name;
    });
}

function coerce(raw: unknown, type: ParamSpec['type']): string | number | boolean | undefined {
  if (type === 'string') return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
  if (type === 'number') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    return Number.isFinite(n) ? n : undefined;
  }
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return undefined;
}

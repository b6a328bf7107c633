import * as fs from 'fs';
import * as k8s from 'cdk8s-plus-34/lib/imports/k8s';
import { Construct } from 'constructs';
import { isDnsSubdomain } from './gke';

export interface NgcPullSecretProps {
  /** Secret name, the one pods list in imagePullSecrets. @default 'ngc' (the 2018 prototype's) */
  readonly name?: string;
  /** @default - the chart's namespace */
  readonly namespace?: string;
  /** Environment variable holding the NGC API key, read at synth time. @default 'NGC_API_KEY' */
  readonly apiKeyEnv?: string;
  /** File holding the NGC API key, read at synth time; wins over `apiKeyEnv`. @default - none */
  readonly apiKeyFile?: string;
  /** Use a Secret that already exists in the cluster (e.g. made with `kubectl create secret docker-registry`); nothing is synthesized and no key is read. @default - a Secret is synthesized */
  readonly existingSecretName?: string;
  /** @default 'nvcr.io' */
  readonly registry?: string;
}

/** NGC's fixed user name for API-key logins. */
export const NGC_USERNAME = '$oauthtoken';

/**
 * The image pull secret for NVIDIA's registry: a kubernetes.io/dockerconfigjson Secret for nvcr.io with user `$oauthtoken`
 * and the NGC API key as password. The key is read at synth time from an environment variable or a file and has no
 * default; when it is missing, synthesis fails with a message naming where it looked, never a value.
 */
export class NgcPullSecret extends Construct {
  /** The name to put in imagePullSecrets. */
  public readonly secretName: string;
  /** Undefined when referencing an existing secret or when no key was found. */
  public readonly secret?: k8s.KubeSecret;

  constructor(scope: Construct, id: string, props: NgcPullSecretProps = {}) {
    super(scope, id);
    this.secretName = props.existingSecretName ?? props.name ?? 'ngc';
    const registry = props.registry ?? 'nvcr.io';
    const envName = props.apiKeyEnv ?? 'NGC_API_KEY';

    const errors: string[] = [];
    this.node.addValidation({ validate: () => errors });
    if (!isDnsSubdomain(this.secretName)) errors.push(`secret name "${this.secretName}" is not a valid Kubernetes name`);
    if (props.existingSecretName !== undefined) {
      if (props.name !== undefined || props.apiKeyFile !== undefined || props.apiKeyEnv !== undefined) {
        errors.push('existingSecretName references a secret made elsewhere: drop name, apiKeyEnv and apiKeyFile');
      }
      return;
    }

    const apiKey = readApiKey(props.apiKeyFile, envName, errors);
    if (apiKey === undefined) return;

    const auth = Buffer.from(`${NGC_USERNAME}:${apiKey}`).toString('base64');
    const dockerConfig = JSON.stringify({ auths: { [registry]: { username: NGC_USERNAME, password: apiKey, auth } } });
    this.secret = new k8s.KubeSecret(this, 'Secret', {
      metadata: { name: this.secretName, namespace: props.namespace },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(dockerConfig).toString('base64') },
    });
  }
}

/** The key, or undefined with an error that says where it looked (never what it found). */
function readApiKey(file: string | undefined, envName: string, errors: string[]): string | undefined {
  let key: string | undefined;
  if (file !== undefined) {
    try {
      key = fs.readFileSync(file, 'utf8').trim();
    } catch (e) {
      errors.push(`cannot read the NGC API key file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'read error'}`);
      return undefined;
    }
    if (!key) errors.push(`the NGC API key file ${file} is empty`);
  } else {
    key = process.env[envName]?.trim();
    if (!key) {
      errors.push(`no NGC API key: set the ${envName} environment variable, give apiKeyFile, or use existingSecretName`);
    }
  }
  return key || undefined;
}

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import { NgcPullSecret, NgcPullSecretProps } from '../../constructs';
import { chart, find, schemaErrors, synth, validationErrors } from './helpers';

const KEY = 'nvapi-TEST-KEY-0123456789abcdef';

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

function make(props?: NgcPullSecretProps) {
  const c = chart('serving');
  const secret = new NgcPullSecret(c, 'Ngc', props);
  return { c, secret };
}

describe('NgcPullSecret', () => {
  test('dockerconfigjson for nvcr.io with $oauthtoken and the key from NGC_API_KEY', () => {
    const { c, secret } = withEnv({ NGC_API_KEY: KEY }, () => make());
    const m = synth(c);
    expect(schemaErrors(m)).toEqual([]);
    const s = find(m, 'Secret', 'ngc');
    expect(secret.secretName).toBe('ngc');
    expect(s.type).toBe('kubernetes.io/dockerconfigjson');
    const config = JSON.parse(Buffer.from(s.data['.dockerconfigjson'], 'base64').toString());
    expect(config.auths['nvcr.io']).toEqual({
      username: '$oauthtoken', password: KEY, auth: Buffer.from(`$oauthtoken:${KEY}`).toString('base64'),
    });
  });

  test('reads the key from a file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ngc-')), 'key');
    fs.writeFileSync(file, `${KEY}\n`);
    const { c } = withEnv({ NGC_API_KEY: undefined }, () => make({ apiKeyFile: file, name: 'nvcr' }));
    const s = find(synth(c), 'Secret', 'nvcr');
    expect(JSON.parse(Buffer.from(s.data['.dockerconfigjson'], 'base64').toString()).auths['nvcr.io'].password).toBe(KEY);
  });

  test('no key, no default: synthesis fails naming where it looked, and nothing is synthesized', () => {
    const { c, secret } = withEnv({ NGC_API_KEY: undefined, MY_NGC: undefined }, () => make({ apiKeyEnv: 'MY_NGC' }));
    expect(validationErrors(c)).toEqual(['no NGC API key: set the MY_NGC environment variable, give apiKeyFile, or use existingSecretName']);
    expect(secret.secret).toBeUndefined();
    expect(() => c.toJson()).toThrow(/no NGC API key/);
    expect(c.node.findAll().filter((n) => n.node.id === 'Secret')).toEqual([]);
    const missing = withEnv({ NGC_API_KEY: undefined }, () => make({ apiKeyFile: '/nonexistent/ngc-key' }));
    expect(validationErrors(missing.c)).toEqual(['cannot read the NGC API key file /nonexistent/ngc-key: ENOENT']);
  });

  test('the key never appears unless given', () => {
    // Present in the environment but not asked for: an existing secret is referenced instead.
    const existing = withEnv({ NGC_API_KEY: KEY }, () => make({ existingSecretName: 'ngc-existing' }));
    expect(existing.secret.secretName).toBe('ngc-existing');
    const out = Yaml.stringify(...existing.c.toJson());
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(Buffer.from(KEY).toString('base64').slice(0, 16));
    expect(existing.c.toJson()).toEqual([]);
    // Read from another variable than the one holding it: neither output nor errors carry it.
    const other = withEnv({ NGC_API_KEY: KEY, OTHER_KEY: undefined }, () => make({ apiKeyEnv: 'OTHER_KEY' }));
    expect(() => other.c.toJson()).toThrow(/OTHER_KEY/);
    expect(other.secret.secret).toBeUndefined();
    expect(validationErrors(other.c).join('\n')).not.toContain(KEY);
    // Nor does the construct's printed form.
    const given = withEnv({ NGC_API_KEY: KEY }, () => make());
    expect(given.secret.toString()).not.toContain(KEY);
    expect(JSON.stringify(Object.keys(given.secret))).not.toContain(KEY);
  });

  test('an existing secret takes no key options', () => {
    const { c } = make({ existingSecretName: 'ngc', apiKeyFile: '/tmp/x' });
    expect(validationErrors(c)[0]).toMatch(/existingSecretName references a secret made elsewhere/);
  });
});

import type { Backend } from '../backends/backend';
import type { ModelConfig } from '../config/model-config';

/** The backend a (backend-resolved) config names; throws the reason a model cannot load without one. */
export function backendFor(config: ModelConfig, backends: ReadonlyMap<string, Backend>): Backend {
  const backend = config.backend ? backends.get(config.backend) : undefined;
  if (!backend) {
    const known = [...backends.keys()].join(', ');
    throw new Error(
      config.backend
        ? `unable to find backend '${config.backend}' (available: ${known})`
        : `unable to determine the backend: set 'backend' or 'platform' in config.pbtxt (available: ${known})`,
    );
  }
  return backend;
}

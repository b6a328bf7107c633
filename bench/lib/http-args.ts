/** bench:http's command line (bench/http.ts describes each option). */
import * as path from 'node:path';
import { benchArgs } from './args';

export interface HttpBenchArgs {
  tool?: string;
  connections: number;
  warmup: number;
  duration: number;
  wrkThreads: number;
  ortSeconds: number;
  breakdown: boolean;
  profile: boolean;
  rounds: number;
  /** A dist/ folder of another build (e.g. a copy taken before a change): its server is measured too, interleaved. */
  compare?: string;
  /** Also measure the server with `simple` opted into execute_on_event_loop (a scratch copy of its model folder). */
  inline: boolean;
  /** Also measure the server with --http-fast-infer-path (and, with --inline, both together). */
  fastInfer: boolean;
  /** Also measure the server with `simple` given Triton's default dynamic batcher (`dynamic_batching { }`). */
  batching: boolean;
}

export function parseHttpBenchArgs(argv: readonly string[]): HttpBenchArgs {
  const args: HttpBenchArgs = { connections: 16, warmup: 2, duration: 10, wrkThreads: 1, ortSeconds: 3, breakdown: false, profile: false, rounds: 3, inline: false, fastInfer: false, batching: false };
  for (const { arg, key, value, number } of benchArgs(argv)) {
    if (key === 'tool') args.tool = value;
    else if (key === 'connections') args.connections = number();
    else if (key === 'warmup') args.warmup = number();
    else if (key === 'duration') args.duration = number();
    else if (key === 'wrk-threads') args.wrkThreads = number();
    else if (key === 'ort-seconds') args.ortSeconds = number();
    else if (key === 'rounds') args.rounds = Math.max(1, Math.floor(number()));
    else if (key === 'breakdown') args.breakdown = true;
    else if (key === 'profile') args.profile = true;
    else if (key === 'inline') args.inline = true;
    else if (key === 'fast-infer') args.fastInfer = true;
    else if (key === 'batching') args.batching = true;
    else if (key === 'compare') args.compare = path.resolve(value);
    else throw new Error(`unknown argument '${arg}'`);
  }
  return args;
}

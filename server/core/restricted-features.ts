/**
 * Triton's endpoint protection: `--http-restricted-api=<apis>:<key>=<value>` and
 * `--grpc-restricted-protocol=<protocols>:<key>=<value>`. Each group of endpoints may require one header with one
 * value; a request without it is refused by the frontend (HTTP 403, gRPC UNAVAILABLE). Group names, the flag syntax
 * and the messages follow Triton's restricted_features.h and command_line_parser.cc.
 */

import { RESTRICTED_API_GROUPS } from '../contract';

/** Triton's RESTRICTED_CATEGORY_NAMES, in its order (kept in contract.ts: the constructs restrict groups too). */
export const RESTRICTED_CATEGORIES = RESTRICTED_API_GROUPS;

export type RestrictedCategory = (typeof RESTRICTED_CATEGORIES)[number];

/** The header a restricted group requires, and the value it must carry. */
export interface Restriction {
  readonly header: string;
  readonly value: string;
}

/** Restricted groups; a group that is absent is open to everyone. */
export type RestrictedFeatures = ReadonlyMap<RestrictedCategory, Restriction>;

/** gRPC metadata key prefix Triton puts before the flag's <key> (grpc_server.h kRestrictedProtocolHeaderTemplate). */
export const GRPC_RESTRICTED_HEADER_PREFIX = 'triton-grpc-protocol-';

export class RestrictedFeatureError extends Error {}

const isCategory = (name: string): name is RestrictedCategory => (RESTRICTED_CATEGORIES as readonly string[]).includes(name);

/**
 * Add one flag value to `into` (Triton's ParseRestrictedFeatureOption). `flag` is the flag's name without dashes,
 * `feature` is 'api' (HTTP) or 'protocol' (gRPC), `headerPrefix` goes before <key>. A group may be named once only.
 */
export function addRestriction(
  into: Map<RestrictedCategory, Restriction>,
  argument: string,
  flag: string,
  feature: 'api' | 'protocol',
  headerPrefix = '',
): void {
  const colon = argument.indexOf(':');
  const equals = argument.indexOf('=', colon + 1);
  const format = `--${flag} option format is '<config name>:<setting>=<value>'. Got ${argument}`;
  if (colon < 0 || equals < 0) throw new RestrictedFeatureError(format);
  const groups = argument.slice(0, colon);
  const key = argument.slice(colon + 1, equals);
  const value = argument.slice(equals + 1);
  if (groups === '' || key === '' || value === '') throw new RestrictedFeatureError(format);
  for (const group of groups.split(',')) {
    if (!isCategory(group)) throw new RestrictedFeatureError(`unknown restricted ${feature} '${group}'`);
    if (into.has(group)) {
      throw new RestrictedFeatureError(`restricted ${feature} '${group}' can not be specified in multiple config groups`);
    }
    into.set(group, { header: headerPrefix + key, value });
  }
}

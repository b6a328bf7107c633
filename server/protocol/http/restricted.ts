/**
 * --http-restricted-api: every /v2 route belongs to one of Triton's endpoint groups (the group its handler checks in
 * Triton's http_server.cc); a request to a restricted group without the group's header and value gets 403
 * `This API is restricted, expecting header '<key>'`, before its body is read. A /v2 route that fits no group is a
 * programming error: registering it fails, so no new endpoint is ever left out of the protection by accident.
 */
import type { FastifyInstance } from 'fastify';
import type { RestrictedCategory, RestrictedFeatures } from '../../core/restricted-features';
import { HttpErrors } from './errors';

const MODEL = '/v2/models/:model(?:/versions/:version)?';

/** Route pattern → group, first match wins (Triton's HandleX → RestrictedCategory). */
const ROUTE_GROUPS: ReadonlyArray<readonly [RegExp, RestrictedCategory]> = [
  [/^\/v2\/health\/(live|ready)$/, 'health'],
  [new RegExp(`^${MODEL}/ready$`), 'health'],
  [new RegExp(`^${MODEL}/(infer|generate|generate_stream)$`), 'inference'],
  [new RegExp(`^${MODEL}/config$`), 'model-config'],
  [new RegExp(`^(${MODEL})?/stats$|^/v2/models/stats$`), 'statistics'],
  [/^\/v2(\/models\/:model)?\/trace\/setting$/, 'trace'],
  [/^\/v2\/logging$/, 'logging'],
  [/^\/v2\/(system|cuda)sharedmemory\//, 'shared-memory'],
  [/^\/v2\/repository\//, 'model-repository'],
  [new RegExp(`^(/v2|${MODEL})$`), 'metadata'],
];

/** The endpoint group of a route pattern (fastify's `url`, e.g. `/v2/models/:model/infer`); undefined outside /v2. */
export function httpRouteGroup(url: string): RestrictedCategory | undefined {
  for (const [pattern, group] of ROUTE_GROUPS) if (pattern.test(url)) return group;
  return undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's --http-restricted-api group. */
    restrictedGroup?: RestrictedCategory;
  }
}

/** Classify every route registered after this call, and refuse requests to restricted groups that lack the header. */
export function installRestrictedApis(app: FastifyInstance, restricted: RestrictedFeatures): void {
  app.addHook('onRoute', (route) => {
    const group = httpRouteGroup(route.url ?? '');
    if (group === undefined && route.url?.startsWith('/v2')) {
      throw new Error(`route ${route.url} belongs to no --http-restricted-api group: add it to ROUTE_GROUPS`);
    }
    route.config = { ...(route.config as object), restrictedGroup: group };
  });
  if (restricted.size === 0) return; // nothing restricted: no hook on the hot path
  app.addHook('onRequest', async (request) => {
    const group = request.routeOptions.config.restrictedGroup;
    const restriction = group === undefined ? undefined : restricted.get(group);
    if (restriction && request.headers[restriction.header.toLowerCase()] !== restriction.value) {
      throw HttpErrors.apiRestricted(restriction.header);
    }
  });
}

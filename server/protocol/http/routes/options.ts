import type { InferenceServiceApi } from '../../../core/service-api';

/** What every route plugin is registered with. */
export interface RouteOptions {
  readonly service: InferenceServiceApi;
  /** --http-header-forward-pattern: matching headers become parameters of infer requests. */
  readonly headerForwardPattern?: RegExp;
}

/** `:model` and, on the `/versions/:version` form of a route, `:version`. */
export interface ModelParams {
  readonly model: string;
  readonly version?: string;
}

/** Both URL forms of a per-model endpoint: `/v2/models/{m}{suffix}` and `/v2/models/{m}/versions/{v}{suffix}`. */
export function modelPaths(suffix: string): string[] {
  return [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];
}

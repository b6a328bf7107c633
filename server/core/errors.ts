/**
 * The one error catalogue. Every failure that reaches a client is an InferenceError built by a factory of `Errors`;
 * each frontend maps `code` to its status in exactly one function (HTTP: protocol/http/errors.ts, gRPC:
 * protocol/grpc/errors.ts). Codes and messages follow Triton's core so clients that match on them keep working.
 * The factories are written by area in error-catalogue/ and used only through `Errors`: one name, one message.
 */

import { backendErrors } from './error-catalogue/backends';
import { extensionErrors } from './error-catalogue/extensions';
import { grpcErrors } from './error-catalogue/grpc';
import { httpErrors } from './error-catalogue/http';
import { modelErrors } from './error-catalogue/models';
import { requestErrors } from './error-catalogue/requests';

export { InferenceError, isInferenceError, toInferenceError } from './inference-error';
export type { ErrorCode } from './inference-error';

const areas = [requestErrors, modelErrors, httpErrors, grpcErrors, extensionErrors, backendErrors];

export const Errors = {
  ...requestErrors,
  ...modelErrors,
  ...httpErrors,
  ...grpcErrors,
  ...extensionErrors,
  ...backendErrors,
};

// A factory name defined in two areas would silently hide one of them: refuse to load instead.
const names = areas.flatMap((area) => Object.keys(area));
if (new Set(names).size !== names.length) {
  throw new Error(`error catalogue: names defined twice: ${names.filter((name, i) => names.indexOf(name) !== i).join(', ')}`);
}

/** Errors of the error catalogue (server/core/errors.ts): the logging, trace and shared memory extensions. */

import { InferenceError } from '../inference-error';

export const extensionErrors = {
  // Logging extension (core/log-settings.ts); Triton's HTTP and gRPC frontends' wording.
  logFileNotUpdatable: () =>
    new InferenceError('UNSUPPORTED', 'log file location can not be updated through network protocol'),
  logSettingType: (name: string, type: 'boolean' | 'int32' | 'string') =>
    new InferenceError('INVALID_ARG', `expect ${type} for '${name}'`),
  badLogFormat: (value: string) =>
    new InferenceError('INVALID_ARG', `invalid argument for log_format, got: ${value}`),
  // Trace extension (core/trace-manager.ts, trace-changes.ts). Wording and codes follow Triton's http_server.cc and
  // trace.cc; JSON type errors carry TritonJson's wording with INVALID_ARG (Triton answers them as INTERNAL).
  traceFileNotUpdatable: () =>
    new InferenceError('UNSUPPORTED', 'trace file location can not be updated through network protocol'),
  traceUnknownModel: (model: string) => new InferenceError('INVALID_ARG', `Request for unknown model : ${model}`),
  traceOffNotAlone: () => new InferenceError('INVALID_ARG', "Expect only one trace level 'OFF' is specified"),
  traceNotParsable: (name: string, got: string) => new InferenceError('INVALID_ARG', `Unable to parse '${name}', got: ${got}`),
  traceOutOfRange: (name: string, min: number, max: number, got: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse '${name}', value is out of range [ ${min}, ${max} ], got: ${got}`),
  traceCountTooSmall: (min: number, got: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse 'trace_count'. Expecting value >= ${min}, got:${got}`),
  traceInvalidSetting: (reason: string) =>
    new InferenceError('INVALID_ARG', `Attempting to set invalid trace setting :${reason}`),
  traceJsonType: (expected: 'string' | 'array') =>
    new InferenceError('INVALID_ARG', `attempt to access JSON non-${expected} as ${expected}`),
  // Shared memory extension (core/shared-memory.ts). Wording and codes follow Triton's shared_memory_manager.cc.
  shmAlreadyRegistered: (name: string) =>
    new InferenceError('ALREADY_EXISTS', `shared memory region '${name}' already in manager`),
  shmOpenFailed: (key: string) => new InferenceError('INTERNAL', `Unable to open shared memory region: '${key}'`),
  shmInvalidKey: (name: string, key: string) =>
    new InferenceError('INVALID_ARG', `cannot register shared memory region '${name}' - invalid shm key '${key}'`),
  shmReservedKey: (name: string, key: string, prefix: string) =>
    new InferenceError(
      'INVALID_ARG',
      `cannot register shared memory region '${name}' with key '${key}' as the key contains the reserved prefix '${prefix}'`,
    ),
  shmRegionReplaced: (name: string, key: string) =>
    new InferenceError(
      'INTERNAL',
      `shared memory region '${name}': the object '${key}' was removed or replaced since it was registered; register it again`,
    ),
  shmRegisterInvalidArgs: (name: string) =>
    new InferenceError('INVALID_ARG', `failed to register shared memory region '${name}': invalid args`),
  shmStatusNotFound: (name: string) =>
    new InferenceError('NOT_FOUND', `Unable to find system shared memory region: '${name}'`),
  cudaShmStatusNotFound: (name: string) =>
    new InferenceError('NOT_FOUND', `Unable to find cuda shared memory region: '${name}'`),
  shmRegionNotFound: (name: string) => new InferenceError('NOT_FOUND', `Unable to find shared memory region: '${name}'`),
  shmInvalidOffset: (name: string) =>
    new InferenceError('INVALID_ARG', `Invalid offset for shared memory region: '${name}'`),
  shmIntegerOverflow: (name: string, byteSize: number | bigint, offset: number | bigint, max: bigint) =>
    new InferenceError(
      'INVALID_ARG',
      `Integer overflow detected: byte_size (${byteSize}) + offset (${offset}) exceeds maximum value (${max}) for region '${name}'`,
    ),
  shmInvalidOffsetAndSize: (name: string) =>
    new InferenceError('INVALID_ARG', `Invalid offset + byte size for shared memory region: '${name}'`),
  shmOutputTooSmall: (output: string, regionBytes: number, outputBytes: number) =>
    new InferenceError(
      'INTERNAL',
      `shared memory size specified with the request for output '${output}' (${regionBytes} bytes) should be at least ${outputBytes} bytes to hold the results`,
    ),
  shmIoFailed: (detail: string) => new InferenceError('INTERNAL', `shared memory access failed: ${detail}`),
  shmParameterType: (parameter: string, tensor: string, expected: string) =>
    new InferenceError('INVALID_ARG', `invalid value type for '${parameter}' parameter for tensor '${tensor}', expected ${expected}.`),
  shmParameterWithoutRegion: (parameter: string, tensor: string) =>
    new InferenceError(
      'INVALID_ARG',
      `'${parameter}' can not be specified without 'shared_memory_region' parameter for tensor '${tensor}'`,
    ),
  shmByteSizeMissing: (tensor: string) =>
    new InferenceError(
      'INVALID_ARG',
      `'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor '${tensor}'`,
    ),
  shmWithClassification: () =>
    new InferenceError('INVALID_ARG', "output can't set both 'shared_memory_region' and 'classification'"),
  /** Triton's kClientShmDisabledErrorStr (common.h): registering and unregistering need --allow-client-shm=true. */
  clientSharedMemoryDisabled: () =>
    new InferenceError('UNSUPPORTED', "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable."),
  cudaSharedMemoryUnsupported: () =>
    new InferenceError(
      'UNSUPPORTED',
      'CUDA shared memory is not supported by this server (it runs no CUDA); use system shared memory instead',
    ),
};

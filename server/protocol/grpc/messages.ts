/**
 * TypeScript shapes of the grpc_service.proto messages as @grpc/proto-loader hands them over with proto.ts's options
 * (decoded: proto field names, 64-bit integers as strings, defaults filled in) and as it accepts them for encoding
 * (numbers or strings for 64-bit integers, absent fields allowed). Only the messages the frontend and the client touch.
 */

/** A 64-bit integer: a decimal string when decoded; a number or decimal string when encoded. */
export type Int64 = string | number;

export interface InferParameterMessage {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  /** Which member is set (decoded messages only). */
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

export type ParameterMap = Record<string, InferParameterMessage>;

export interface InferTensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferInputTensorMessage {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: ParameterMap;
  contents?: InferTensorContentsMessage | null;
  /**
   * The server's deserializer leaves `contents` (field 5) as its wire bytes here, decoded only once the request is
   * checked (contents-wire.ts); `contents` is then absent.
   */
  contents_wire?: Uint8Array;
}

export interface InferRequestedOutputTensorMessage {
  name: string;
  parameters?: ParameterMap;
}

export interface ModelInferRequestMessage {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: ParameterMap;
  inputs: InferInputTensorMessage[];
  outputs?: InferRequestedOutputTensorMessage[];
  raw_input_contents?: Uint8Array[];
}

export interface InferOutputTensorMessage {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: ParameterMap;
  contents?: InferTensorContentsMessage | null;
}

export interface ModelInferResponseMessage {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: ParameterMap;
  outputs: InferOutputTensorMessage[];
  raw_output_contents?: Uint8Array[];
}

export interface ModelStreamInferResponseMessage {
  error_message: string;
  infer_response?: ModelInferResponseMessage | null;
}

export interface NameVersionRequest {
  name: string;
  version: string;
}

export interface TensorMetadataMessage {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface ModelMetadataResponseMessage {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataMessage[];
  outputs: TensorMetadataMessage[];
}

export interface ModelRepositoryParameterMessage {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  bytes_param?: Uint8Array;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
}

export interface RepositoryIndexRequestMessage {
  repository_name: string;
  ready: boolean;
}

export interface RepositoryModelIndexMessage {
  name: string;
  version: string;
  state: string;
  reason: string;
}

export interface RepositoryModelRequestMessage {
  repository_name: string;
  model_name: string;
  parameters?: Record<string, ModelRepositoryParameterMessage>;
}

export interface StatisticDurationMessage {
  count: Int64;
  ns: Int64;
}

export interface LogSettingValueMessage {
  bool_param?: boolean;
  uint32_param?: number;
  string_param?: string;
  parameter_choice?: 'bool_param' | 'uint32_param' | 'string_param';
}

export interface SystemSharedMemoryRegisterMessage {
  name: string;
  key: string;
  offset?: Int64;
  byte_size?: Int64;
}

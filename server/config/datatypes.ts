/**
 * Data type names across the three vocabularies the server meets: model config (TYPE_FP32),
 * KServe v2 protocol (FP32, BYTES) and ONNX TensorProto.DataType numbers.
 */
import type { DataType } from './model-config';

/** KServe v2 / Triton protocol tensor datatypes. */
export type KserveDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES'
  | 'BF16';

const CONFIG_TO_KSERVE: Readonly<Record<Exclude<DataType, 'TYPE_INVALID'>, KserveDatatype>> = {
  TYPE_BOOL: 'BOOL',
  TYPE_UINT8: 'UINT8',
  TYPE_UINT16: 'UINT16',
  TYPE_UINT32: 'UINT32',
  TYPE_UINT64: 'UINT64',
  TYPE_INT8: 'INT8',
  TYPE_INT16: 'INT16',
  TYPE_INT32: 'INT32',
  TYPE_INT64: 'INT64',
  TYPE_FP16: 'FP16',
  TYPE_FP32: 'FP32',
  TYPE_FP64: 'FP64',
  // Triton's config says STRING where the protocol says BYTES: both are length-prefixed bytes.
  TYPE_STRING: 'BYTES',
  TYPE_BF16: 'BF16',
};

const KSERVE_TO_CONFIG: Readonly<Record<KserveDatatype, DataType>> = Object.fromEntries(
  Object.entries(CONFIG_TO_KSERVE).map(([config, kserve]) => [kserve, config]),
) as Record<KserveDatatype, DataType>;

/** 'TYPE_INT32' → 'INT32', 'TYPE_STRING' → 'BYTES'. Throws for TYPE_INVALID and unknown names. */
export function configToKserve(dataType: DataType | string): KserveDatatype {
  if (!Object.prototype.hasOwnProperty.call(CONFIG_TO_KSERVE, dataType)) {
    throw new Error(`no protocol datatype for model config data type '${dataType}'`);
  }
  return CONFIG_TO_KSERVE[dataType as keyof typeof CONFIG_TO_KSERVE];
}

/** 'INT32' → 'TYPE_INT32', 'BYTES' → 'TYPE_STRING'; undefined for names the protocol lacks. */
export function kserveToConfig(datatype: string): DataType | undefined {
  return Object.prototype.hasOwnProperty.call(KSERVE_TO_CONFIG, datatype)
    ? KSERVE_TO_CONFIG[datatype as KserveDatatype]
    : undefined;
}

/** onnx.TensorProto.DataType numbers → model config types. COMPLEX64/128 have no Triton type. */
const ONNX_ELEM_TO_CONFIG: Readonly<Record<number, DataType>> = {
  1: 'TYPE_FP32', // FLOAT
  2: 'TYPE_UINT8',
  3: 'TYPE_INT8',
  4: 'TYPE_UINT16',
  5: 'TYPE_INT16',
  6: 'TYPE_INT32',
  7: 'TYPE_INT64',
  8: 'TYPE_STRING',
  9: 'TYPE_BOOL',
  10: 'TYPE_FP16', // FLOAT16
  11: 'TYPE_FP64', // DOUBLE
  12: 'TYPE_UINT32',
  13: 'TYPE_UINT64',
  16: 'TYPE_BF16', // BFLOAT16
};

/** Model config type for an ONNX element type number; undefined when Triton has none. */
export function onnxElemTypeToConfig(elemType: number): DataType | undefined {
  return Object.prototype.hasOwnProperty.call(ONNX_ELEM_TO_CONFIG, elemType) ? ONNX_ELEM_TO_CONFIG[elemType] : undefined;
}

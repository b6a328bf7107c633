/**
 * The JSON Triton serves from GET /v2/models/{m}[/versions/{v}]/config.
 *
 * Triton prints the ModelConfig with protobuf's "always print primitive fields" option and proto
 * field names, then rewrites 64-bit integers as JSON numbers. So every scalar, enum, repeated and
 * map field appears even at its default ("max_batch_size": 0, "optional": false, "dims": [],
 * "parameters": {}), while message fields and oneof members appear only when set. Clients written
 * for Triton index into these fields without checking, so the server prints the same.
 */
import * as protobuf from 'protobufjs';
import { ModelConfig, modelConfigType } from './model-config';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** ModelConfig → Triton's config-endpoint JSON object. Fields outside the schema are dropped. */
export function modelConfigToJson(config: ModelConfig): { [key: string]: Json } {
  return messageToJson(modelConfigType(), config as Record<string, unknown>);
}

function messageToJson(type: protobuf.Type, message: Record<string, unknown>): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  for (const field of type.fieldsArray) {
    const value = Object.prototype.hasOwnProperty.call(message, field.name) ? message[field.name] : undefined;
    if (value === undefined || value === null) {
      const fallback = defaultFor(field);
      if (fallback !== undefined) json[field.name] = fallback;
      continue;
    }
    json[field.name] = fieldToJson(field, value);
  }
  return json;
}

function fieldToJson(field: protobuf.Field, value: unknown): Json {
  const messageType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
  const convert = (item: unknown): Json =>
    messageType ? messageToJson(messageType, (item ?? {}) as Record<string, unknown>) : (item as Json);
  if (field.map) {
    const entries: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      Object.defineProperty(entries, key, { value: convert(item), enumerable: true, writable: true, configurable: true });
    }
    return entries;
  }
  if (field.repeated) return (value as unknown[]).map(convert);
  return convert(value);
}

/** What Triton prints for an unset field; undefined when it prints nothing. */
function defaultFor(field: protobuf.Field): Json | undefined {
  if (field.map) return {};
  if (field.repeated) return [];
  if (field.partOf || field.resolvedType instanceof protobuf.Type) return undefined;
  if (field.resolvedType instanceof protobuf.Enum) return field.resolvedType.valuesById[0] ?? 0;
  switch (field.type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

/**
 * A model configuration given as protobuf JSON (the `config` parameter of Triton's load API), checked against the
 * model_config.proto schema as strictly as config.pbtxt is: unknown fields and wrong types are errors naming the
 * field path. protobufjs's own fromObject coerces silently ("eight" becomes 0), hence this walk over its reflection.
 * Field names may be the proto names (max_batch_size) or protobuf JSON's lowerCamelCase (maxBatchSize).
 */
import * as protobuf from 'protobufjs';
import { ConfigError, ModelConfig, modelConfigType } from './model-config';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const INTEGER_TYPES = new Set(['int32', 'sint32', 'sfixed32', 'uint32', 'fixed32', 'int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const UNSIGNED = new Set(['uint32', 'fixed32', 'uint64', 'fixed64']);

export function parseModelConfigJson(text: string, source = 'config'): ModelConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: invalid JSON: ${(error as Error).message}`);
  }
  return convertMessage(value as Json, modelConfigType(), source) as ModelConfig;
}

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function convertMessage(value: Json, type: protobuf.Type, where: string): JsonObject {
  if (!isObject(value)) throw new ConfigError(`${where}: expected an object for ${type.fullName.replace(/^\./, '')}`);
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) === key);
    if (!field) throw new ConfigError(`${where}: unknown field '${key}' in ${type.fullName.replace(/^\./, '')}`);
    if (item === null) continue;
    const path = `${where}.${field.name}`;
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (!isObject(item)) throw new ConfigError(`${path}: expected an object (map)`);
      const map: JsonObject = {};
      for (const [mapKey, mapValue] of Object.entries(item)) map[mapKey] = convertValue(mapValue, field, `${path}[${mapKey}]`);
      result[field.name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(item)) throw new ConfigError(`${path}: expected an array`);
      result[field.name] = item.map((element, i) => convertValue(element, field, `${path}[${i}]`));
    } else {
      result[field.name] = convertValue(item, field, path);
    }
  }
  return result;
}

function convertValue(value: Json, field: protobuf.Field, path: string): Json {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return convertMessage(value, resolved, path);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && value in resolved.values) return value;
    if (typeof value === 'number') {
      const name = resolved.valuesById[value];
      if (name !== undefined) return name;
    }
    throw new ConfigError(`${path}: ${JSON.stringify(value)} is not a value of ${resolved.name} (${Object.keys(resolved.values).join(', ')})`);
  }
  if (INTEGER_TYPES.has(field.type)) {
    const number = typeof value === 'string' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || (UNSIGNED.has(field.type) && number < 0)) {
      throw new ConfigError(`${path}: expects ${field.type}, got ${JSON.stringify(value)}`);
    }
    return number;
  }
  if (field.type === 'float' || field.type === 'double') {
    if (typeof value !== 'number') throw new ConfigError(`${path}: expects ${field.type}, got ${JSON.stringify(value)}`);
    return value;
  }
  if (field.type === 'bool') {
    if (typeof value !== 'boolean') throw new ConfigError(`${path}: expects bool, got ${JSON.stringify(value)}`);
    return value;
  }
  if (field.type === 'string') {
    if (typeof value !== 'string') throw new ConfigError(`${path}: expects string, got ${JSON.stringify(value)}`);
    return value;
  }
  throw new ConfigError(`${path}: field type ${field.type} is not supported in a JSON configuration`);
}

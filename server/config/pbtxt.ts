/**
 * A protobuf text-format parser (the config.pbtxt syntax) that walks protobufjs reflection types.
 *
 * Written by hand because no maintained npm library parses text format into protobufjs
 * reflection with line numbers; protobufjs itself only reads binary and JSON. Walking the schema
 * while parsing is what lets every error name the file, the line and the field, the way Triton's
 * own (C++ protobuf) parser does when it refuses a config.
 *
 * Accepted syntax, as protobuf's TextFormat accepts it:
 *   field: value            scalar; enums by name or number; bools true/false/True/False/t/f/1/0
 *   field { ... }           message; also `field: { ... }` and `field < ... >`
 *   field: [a, b]           list for repeated fields, scalars or messages (`input [ {..}, {..} ]`)
 *   map_field { key: "k" value: ... }   one entry per occurrence (maps are repeated entries)
 *   separators , and ; after a field are optional; adjacent strings concatenate.
 * The result is protobuf JSON form with proto field names; see model-config.ts.
 */
import * as protobuf from 'protobufjs';
import { ConfigError, ModelConfig, modelConfigType } from './model-config';
import { Token, Tokenizer, describeToken } from './pbtxt-tokenizer';

/** Triton's configs nest a few levels; the limit only stops hostile input from exhausting the stack. */
const MAX_NESTING_DEPTH = 100;

type JsonValue = string | number | boolean | JsonObject | JsonValue[];
interface JsonObject {
  [key: string]: JsonValue;
}

/** Parses a config.pbtxt into a ModelConfig. Throws ConfigError naming fileName and the line. */
export function parseModelConfigText(text: string, fileName: string): ModelConfig {
  return parseTextFormat(text, fileName, modelConfigType()) as ModelConfig;
}

/** Parses text format for any message type of a protobufjs root. */
export function parseTextFormat(text: string, fileName: string, type: protobuf.Type): JsonObject {
  const parser = new TextFormatParser(new Tokenizer(text, fileName));
  return parser.parseTopLevel(type);
}

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const FLOAT_TYPES = new Set(['float', 'double']);
const TRUE_WORDS = new Set(['true', 'True', 't']);
const FALSE_WORDS = new Set(['false', 'False', 'f']);
const NON_FINITE_WORDS: Record<string, number> = { inf: Infinity, infinity: Infinity, nan: NaN };

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** Sets a property even when the key is "__proto__", so map keys cannot touch prototypes. */
function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The type of a scalar slot: a field, a map key or a map value. */
interface ScalarSlot {
  name: string;
  type: string;
  resolvedType: protobuf.Type | protobuf.Enum | null;
}

class TextFormatParser {
  constructor(private readonly tokens: Tokenizer) {}

  parseTopLevel(type: protobuf.Type): JsonObject {
    const result = this.parseFields(type, undefined, 0);
    const trailing = this.tokens.peek();
    if (trailing.kind !== 'end') throw this.tokens.error(`unexpected ${describeToken(trailing)}`, trailing.line);
    return result;
  }

  /** Parses fields until the closing symbol (or end of input at top level). */
  private parseFields(type: protobuf.Type, opened: { close: string; field: string; line: number } | undefined, depth: number): JsonObject {
    if (depth > MAX_NESTING_DEPTH) {
      throw this.tokens.error(`messages are nested more than ${MAX_NESTING_DEPTH} deep`, this.tokens.peek().line);
    }
    const result: JsonObject = {};
    for (;;) {
      const token = this.tokens.peek();
      if (token.kind === 'end') {
        if (!opened) return result;
        throw this.tokens.error(
          `expected '${opened.close}' to close '${opened.field}' opened at line ${opened.line}, got end of input`,
          token.line,
        );
      }
      if (opened && token.kind === 'symbol' && token.text === opened.close) {
        this.tokens.next();
        return result;
      }
      this.parseField(type, result, depth);
      if (!this.tokens.acceptSymbol(',')) this.tokens.acceptSymbol(';');
    }
  }

  private parseField(type: protobuf.Type, result: JsonObject, depth: number): void {
    const nameToken = this.tokens.next();
    if (nameToken.kind !== 'identifier') {
      throw this.tokens.error(`expected a field name in ${type.fullName.slice(1)}, got ${describeToken(nameToken)}`, nameToken.line);
    }
    const name = nameToken.text;
    if (!hasOwn(type.fields, name)) {
      throw this.tokens.error(`unknown field '${name}' in ${type.fullName.slice(1)}${suggestField(type, name)}`, nameToken.line);
    }
    const field = type.fields[name];
    this.checkNotAlreadySet(type, field, result, nameToken);

    const isMessageLike = field.map || field.resolvedType instanceof protobuf.Type;
    const hasColon = this.tokens.acceptSymbol(':');
    if (!hasColon && !isMessageLike) {
      throw this.tokens.error(`expected ':' after field '${name}', got ${describeToken(this.tokens.peek())}`, this.tokens.peek().line);
    }

    if (this.tokens.peek().kind === 'symbol' && this.tokens.peek().text === '[') {
      const open = this.tokens.next();
      if (!field.repeated && !field.map) {
        throw this.tokens.error(`field '${name}' is not repeated, so it cannot take a list`, open.line);
      }
      if (this.tokens.acceptSymbol(']')) {
        if (!field.map && !hasOwn(result, name)) result[name] = [];
        return;
      }
      do {
        this.parseOneValue(field, result, depth);
      } while (this.tokens.acceptSymbol(','));
      const close = this.tokens.next();
      if (close.kind !== 'symbol' || close.text !== ']') {
        throw this.tokens.error(`expected ',' or ']' in the list of '${name}', got ${describeToken(close)}`, close.line);
      }
      return;
    }
    this.parseOneValue(field, result, depth);
  }

  /** Parses one value of the field (one element when repeated, one entry when a map) into result. */
  private parseOneValue(field: protobuf.Field, result: JsonObject, depth: number): void {
    if (field instanceof protobuf.MapField) {
      const [key, value] = this.parseMapEntry(field, depth);
      if (!hasOwn(result, field.name)) result[field.name] = {};
      setOwn(result[field.name] as JsonObject, key, value);
      return;
    }
    const value =
      field.resolvedType instanceof protobuf.Type
        ? this.parseMessageValue(field.resolvedType, field.name, depth)
        : this.parseScalar(field);
    if (field.repeated) {
      if (!hasOwn(result, field.name)) result[field.name] = [];
      (result[field.name] as JsonValue[]).push(value);
    } else {
      result[field.name] = value;
    }
  }

  private parseMessageValue(type: protobuf.Type, fieldName: string, depth: number): JsonObject {
    const open = this.tokens.next();
    if (open.kind !== 'symbol' || (open.text !== '{' && open.text !== '<')) {
      throw this.tokens.error(
        `field '${fieldName}' expects a ${type.fullName.slice(1)} message in { }, got ${describeToken(open)}`,
        open.line,
      );
    }
    const close = open.text === '{' ? '}' : '>';
    return this.parseFields(type, { close, field: fieldName, line: open.line }, depth + 1);
  }

  /** Parses `{ key: K value: V }`; a missing key or value takes its type's default, as in protobuf. */
  private parseMapEntry(field: protobuf.MapField, depth: number): [string, JsonValue] {
    const open = this.tokens.next();
    if (open.kind !== 'symbol' || (open.text !== '{' && open.text !== '<')) {
      throw this.tokens.error(`field '${field.name}' expects map entries { key: ... value: ... }, got ${describeToken(open)}`, open.line);
    }
    const close = open.text === '{' ? '}' : '>';
    const keySlot: ScalarSlot = { name: `${field.name}.key`, type: field.keyType, resolvedType: null };
    const valueSlot: ScalarSlot = { name: `${field.name}.value`, type: field.type, resolvedType: field.resolvedType };
    let key: JsonValue | undefined;
    let value: JsonValue | undefined;
    for (;;) {
      const token = this.tokens.next();
      if (token.kind === 'symbol' && token.text === close) break;
      if (token.kind === 'end') {
        throw this.tokens.error(`expected '${close}' to close '${field.name}' opened at line ${open.line}, got end of input`, token.line);
      }
      if (token.kind !== 'identifier' || (token.text !== 'key' && token.text !== 'value')) {
        throw this.tokens.error(`map entry of '${field.name}' expects 'key' or 'value', got ${describeToken(token)}`, token.line);
      }
      if ((token.text === 'key' ? key : value) !== undefined) {
        throw this.tokens.error(`map entry of '${field.name}' sets '${token.text}' more than once`, token.line);
      }
      const valueIsMessage = token.text === 'value' && field.resolvedType instanceof protobuf.Type;
      if (!this.tokens.acceptSymbol(':') && !valueIsMessage) {
        throw this.tokens.error(`expected ':' after '${token.text}' in map '${field.name}', got ${describeToken(this.tokens.peek())}`, this.tokens.peek().line);
      }
      if (token.text === 'key') {
        key = this.parseScalar(keySlot);
      } else if (field.resolvedType instanceof protobuf.Type) {
        value = this.parseMessageValue(field.resolvedType, valueSlot.name, depth + 1);
      } else {
        value = this.parseScalar(valueSlot);
      }
      if (!this.tokens.acceptSymbol(',')) this.tokens.acceptSymbol(';');
    }
    return [String(key ?? defaultScalar(keySlot)), value ?? defaultScalar(valueSlot)];
  }

  private parseScalar(slot: ScalarSlot): JsonValue {
    if (slot.resolvedType instanceof protobuf.Enum) return this.parseEnum(slot, slot.resolvedType);
    if (slot.type === 'string' || slot.type === 'bytes') return this.parseString(slot);
    if (slot.type === 'bool') return this.parseBool(slot);
    if (FLOAT_TYPES.has(slot.type)) return this.parseFloat(slot);
    if (hasOwn(INTEGER_RANGES, slot.type)) return this.parseInteger(slot);
    throw this.tokens.error(`field '${slot.name}' has unsupported type ${slot.type}`, this.tokens.peek().line);
  }

  private parseString(slot: ScalarSlot): string {
    const first = this.tokens.next();
    if (first.kind !== 'string') throw this.typeError(slot, slot.type, first);
    let value = first.text;
    while (this.tokens.peek().kind === 'string') value += this.tokens.next().text;
    // Protobuf JSON writes bytes as base64.
    return slot.type === 'bytes' ? Buffer.from(value, 'latin1').toString('base64') : value;
  }

  private parseBool(slot: ScalarSlot): boolean {
    const token = this.tokens.next();
    if (token.kind === 'identifier' && TRUE_WORDS.has(token.text)) return true;
    if (token.kind === 'identifier' && FALSE_WORDS.has(token.text)) return false;
    if (token.kind === 'number' && (token.text === '1' || token.text === '0')) return token.text === '1';
    throw this.typeError(slot, 'bool (true or false)', token);
  }

  /** Reads an optional '-' and the token after it. */
  private readSigned(): { negative: boolean; token: Token } {
    const negative = this.tokens.acceptSymbol('-');
    return { negative, token: this.tokens.next() };
  }

  private parseFloat(slot: ScalarSlot): number {
    const { negative, token } = this.readSigned();
    let value: number;
    if (token.kind === 'identifier' && hasOwn(NON_FINITE_WORDS, token.text.toLowerCase())) {
      value = NON_FINITE_WORDS[token.text.toLowerCase()];
    } else if (token.kind === 'number') {
      const text = token.text.replace(/[fF]$/, '');
      value = /^0[xX]/.test(text) ? Number(BigInt(text)) : Number(text);
    } else {
      throw this.typeError(slot, slot.type, token, negative);
    }
    return negative ? -value : value;
  }

  private parseInteger(slot: ScalarSlot): number {
    const { negative, token } = this.readSigned();
    const [min, max] = INTEGER_RANGES[slot.type];
    // Each message ends with protobuf TextFormat's own words (Triton's parser), which Triton users and its qa look for;
    // protobuf reads no '-' before an unsigned value.
    const protobufSays = (words: string) => ` (protobuf: ${words})`;
    const magnitude = token.kind === 'number' ? parseIntegerLiteral(token.text) : undefined;
    if (magnitude === undefined) {
      const got = negative && min === 0n ? '-' : token.kind === 'string' ? JSON.stringify(token.text) : token.text;
      throw this.tokens.error(this.typeErrorText(slot, slot.type, token, negative) + protobufSays(`Expected integer, got: ${got}`), token.line);
    }
    const value = negative ? -magnitude : magnitude;
    const shown = `${negative ? '-' : ''}${token.text}`;
    if (value < min || value > max) {
      const words = negative && min === 0n ? 'Expected integer, got: -' : `Integer out of range (${token.text})`;
      throw this.tokens.error(`field '${slot.name}' value ${shown} is out of range for ${slot.type}${protobufSays(words)}`, token.line);
    }
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      // Values are plain JS numbers (as in Triton's config JSON); refuse rather than round.
      throw this.tokens.error(`field '${slot.name}' value ${shown} is too large to represent exactly`, token.line);
    }
    return Number(value);
  }

  private parseEnum(slot: ScalarSlot, enumType: protobuf.Enum): string {
    const { negative, token } = this.readSigned();
    if (token.kind === 'identifier' && !negative && hasOwn(enumType.values, token.text)) return token.text;
    if (token.kind === 'number') {
      const number = parseIntegerLiteral(token.text);
      const id = number === undefined ? undefined : Number(negative ? -number : number);
      if (id !== undefined && hasOwn(enumType.valuesById, String(id))) return enumType.valuesById[id];
    }
    const names = Object.keys(enumType.values).join(', ');
    throw this.typeError(slot, `a value of enum ${enumType.fullName.slice(1)} (${names})`, token, negative);
  }

  private typeError(slot: ScalarSlot, expected: string, token: Token, negative = false): ConfigError {
    return this.tokens.error(this.typeErrorText(slot, expected, token, negative), token.line);
  }

  private typeErrorText(slot: ScalarSlot, expected: string, token: Token, negative: boolean): string {
    const got = negative ? `'-' followed by ${describeToken(token)}` : describeToken(token);
    return `field '${slot.name}' expects ${expected}, got ${got}`;
  }

  /** Refuses a second value for a singular field, and a second member of a oneof. */
  private checkNotAlreadySet(type: protobuf.Type, field: protobuf.Field, result: JsonObject, at: Token): void {
    if (field.repeated || field.map) return;
    if (hasOwn(result, field.name)) {
      throw this.tokens.error(`field '${field.name}' is specified more than once in ${type.fullName.slice(1)}`, at.line);
    }
    const oneof = field.partOf;
    const other = oneof?.oneof.find((member) => member !== field.name && hasOwn(result, member));
    if (oneof && other) {
      throw this.tokens.error(
        `field '${field.name}' cannot be set together with '${other}': both belong to oneof '${oneof.name}'`,
        at.line,
      );
    }
  }
}

/** Decimal, hex (0x) or octal (leading 0) integer literal; undefined for floats and malformed text. */
function parseIntegerLiteral(text: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  if (/^(0|[1-9]\d*)$/.test(text)) return BigInt(text);
  return undefined;
}

function defaultScalar(slot: ScalarSlot): JsonValue {
  if (slot.resolvedType instanceof protobuf.Enum) return slot.resolvedType.valuesById[0] ?? '';
  if (slot.type === 'string' || slot.type === 'bytes') return '';
  if (slot.type === 'bool') return false;
  return 0;
}

/** " (did you mean 'max_batch_size'?)" when a field name is a near miss. */
function suggestField(type: protobuf.Type, name: string): string {
  const candidates = Object.keys(type.fields).filter(
    (candidate) => candidate.startsWith(name) || name.startsWith(candidate) || editDistance(candidate, name) <= 2,
  );
  return candidates.length === 1 ? ` (did you mean '${candidates[0]}'?)` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Large JSON infer bodies, parsed incrementally: @streamparser/json's tokenizer is fed 64 KiB at a time with the event
 * loop free between chunks (JSON.parse of a 64 MiB body blocks it for seconds), and each input's `data` array goes
 * straight into its tensor through an ElementWriter (JSON.parse would make an object or a number slot per element, up
 * to tens of times the body). Everything else in the document (ids, parameters, shapes, outputs) is built as plain
 * values, as JSON.parse would build it.
 *
 * An input whose `data` comes before its `datatype` or `shape` (legal, but no client sends it so) has its data's byte
 * range remembered and tokenized again once the input's header is known.
 */
import { Tokenizer, TokenType } from '@streamparser/json';
import { elementCount, isDataType } from '../../core/datatypes';
import { Errors, InferenceError } from '../../core/errors';
import type { TensorData } from '../../core/datatypes';
import { elementWriter, ElementWriter } from './tensor-json';

/** JSON parts from this size on are streamed; smaller ones go through JSON.parse (fast, and short enough). */
export const STREAM_JSON_MIN_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** Triton's HTTP_MAX_JSON_NESTING_DEPTH. */
const MAX_NESTING = 100;

/** An input's data, already decoded while the body streamed. */
export class StreamedData {
  constructor(
    private readonly collector: DataCollector,
    /** The header the data was decoded for: a document that later changes it (a duplicate key) is refused. */
    readonly header: { readonly name: string; readonly datatype: string; readonly count: number },
  ) {}

  /**
   * The tensor data, or the error JSON.parse'd decoding would give: a wrong element count before a wrong element
   * (an element error met while streaming waits here, so that every input's header is checked first, as there).
   */
  finish(name: string, datatype: string, count: number): TensorData {
    if (name !== this.header.name || datatype !== this.header.datatype || count !== this.header.count) {
      throw Errors.badTensorData(name, "the input's name, datatype or shape changed after its data (duplicate keys)");
    }
    if (this.collector.setupError) throw this.collector.setupError;
    if (this.collector.elements !== count) throw Errors.elementCountMismatch(name, count, this.collector.elements);
    if (this.collector.error) throw this.collector.error;
    return this.collector.writer!.finish();
  }
}

/** The byte range of a data array whose input header was not known when it streamed by. */
class DeferredData {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json } | StreamedData | DeferredData;

/**
 * Leaves of one data array into a writer (or nowhere, while only its extent is being found), flattened as
 * tensor-json's flatten does: nested arrays when the first element is one, and an object (or, in a flat array, an
 * array) is one element, a bad one.
 */
class DataCollector {
  private depth = 1;
  /** Whether the array holds arrays (nested as the shape) or values; set by its first token. */
  private nested: boolean | undefined;
  /** Depth at which a skipped element (an object, or an array in a flat array) ends; 0 when none is open. */
  private skipUntil = 0;
  /** Elements seen, stored or not. */
  elements = 0;
  /** The first bad element's error, thrown by StreamedData.finish (after the count check). */
  error: Error | undefined;
  /** The datatype cannot be written from JSON (BF16): thrown by StreamedData.finish before anything else. */
  setupError: Error | undefined;

  constructor(
    /** The input's name. */
    readonly input: string,
    readonly writer: ElementWriter | undefined,
  ) {}

  private push(value: unknown): void {
    this.elements++;
    if (!this.writer || this.error) return;
    try {
      this.writer.push(value);
    } catch (error) {
      this.error = error as Error;
    }
  }

  /** Take one token; true when the data array has ended. */
  take(token: TokenType, value: unknown): boolean {
    if (this.nested === undefined && token !== TokenType.RIGHT_BRACKET) this.nested = token === TokenType.LEFT_BRACKET;
    if (token === TokenType.LEFT_BRACKET || token === TokenType.LEFT_BRACE) {
      if (this.skipUntil === 0 && (token === TokenType.LEFT_BRACE || (!this.nested && this.depth === 1))) {
        this.push(token === TokenType.LEFT_BRACE ? {} : []);
        this.skipUntil = this.depth;
      }
      // `depth` counts the data array as 1: elements inside this array sit at Triton's depth `depth` (data is its 0).
      if (++this.depth >= MAX_NESTING && this.skipUntil === 0) throw Errors.jsonNestingTooDeep(MAX_NESTING);
      return false;
    }
    if (token === TokenType.RIGHT_BRACKET || token === TokenType.RIGHT_BRACE) {
      if (--this.depth === this.skipUntil) this.skipUntil = 0;
      return this.depth === 0;
    }
    if (this.skipUntil !== 0 || token === TokenType.COMMA || token === TokenType.COLON) return false;
    if (token === TokenType.TRUE) this.push(true);
    else if (token === TokenType.FALSE) this.push(false);
    else if (token === TokenType.NULL) this.push(null);
    else this.push(value);
    return false;
  }
}

type Role = 'root' | 'inputs' | 'input' | 'other';

interface Frame {
  readonly role: Role;
  readonly value: Json[] | { [key: string]: Json };
  key?: string;
  expectKey: boolean;
}

/** A collector for the input's data when its header is already known and sane, else undefined (decode it later). */
function collectorFor(input: { [key: string]: Json }, storable: number): DataCollector | undefined {
  const { name, datatype, shape } = input;
  if (typeof name !== 'string' || typeof datatype !== 'string' || !isDataType(datatype) || !Array.isArray(shape)) return undefined;
  if (!shape.every((dim) => typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0)) return undefined;
  let writer: ElementWriter | undefined;
  let setupError: Error | undefined;
  try {
    writer = elementWriter(name, datatype, elementCount(shape as number[]), storable);
  } catch (error) {
    setupError = error as Error;
  }
  const collector = new DataCollector(name, writer);
  collector.setupError = setupError;
  return collector;
}

function headerOf(input: { [key: string]: Json }): StreamedData['header'] {
  return { name: input.name as string, datatype: input.datatype as string, count: elementCount(input.shape as number[]) };
}

type ContainerState = 'key-or-close' | 'key' | 'colon' | 'value' | 'value-or-close' | 'after';

function unexpected(token: TokenType, offset: number): Error {
  return Errors.badJson(`unexpected ${TokenType[token]} at byte ${offset}`);
}

/**
 * JSON's grammar over the token stream (the tokenizer only splits tokens: `[1 2]` tokenizes fine). Hand-written: the
 * library's own grammar check, its TokenParser, builds every value, which is what this file avoids.
 */
class Grammar {
  private readonly stack: { object: boolean; state: ContainerState }[] = [];
  private topDone = false;

  take(token: TokenType, offset: number): void {
    // Hot: once per token of a body of millions, so no closures or allocations here.
    const top = this.stack.length > 0 ? this.stack[this.stack.length - 1] : undefined;
    if (token === TokenType.COMMA) {
      if (top === undefined || top.state !== 'after') throw unexpected(token, offset);
      top.state = top.object ? 'key' : 'value';
      return;
    }
    if (token === TokenType.STRING && top !== undefined && (top.state === 'key' || top.state === 'key-or-close')) {
      top.state = 'colon';
      return;
    }
    if (token === TokenType.COLON) {
      if (top === undefined || top.state !== 'colon') throw unexpected(token, offset);
      top.state = 'value';
      return;
    }
    if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
      const closesObject = token === TokenType.RIGHT_BRACE;
      if (top === undefined || top.object !== closesObject) throw unexpected(token, offset);
      if (top.state !== 'after' && top.state !== (closesObject ? 'key-or-close' : 'value-or-close')) throw unexpected(token, offset);
      this.stack.pop();
      return;
    }
    // A value: a scalar, or a container that opens here.
    if (top === undefined) {
      if (this.topDone) throw unexpected(token, offset);
      this.topDone = true;
    } else {
      if (top.state !== 'value' && top.state !== 'value-or-close') throw unexpected(token, offset);
      top.state = 'after';
    }
    if (token === TokenType.LEFT_BRACE) this.stack.push({ object: true, state: 'key-or-close' });
    else if (token === TokenType.LEFT_BRACKET) this.stack.push({ object: false, state: 'value-or-close' });
  }

  /** The document is complete. */
  get done(): boolean {
    return this.topDone && this.stack.length === 0;
  }
}

async function tokenize(bytes: Uint8Array, onToken: (token: TokenType, value: unknown, offset: number) => void): Promise<void> {
  const tokenizer = new Tokenizer({ numberBufferSize: 64, stringBufferSize: 64 * 1024 });
  const grammar = new Grammar();
  tokenizer.onToken = ({ token, value, offset }) => {
    grammar.take(token, offset);
    onToken(token, value, offset);
  };
  try {
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
      tokenizer.write(bytes.subarray(offset, offset + CHUNK_BYTES));
      if (offset + CHUNK_BYTES < bytes.length) await new Promise((resolve) => setImmediate(resolve));
    }
    tokenizer.end();
    if (!grammar.done) throw Errors.badJson('the document ended early');
  } catch (error) {
    // Ours (a bad element, the grammar) as they are; the tokenizer's own (bad lexemes, a cut document) as bad JSON.
    if (error instanceof InferenceError || !(error instanceof Error)) throw error;
    throw Errors.badJson(error.message);
  }
}

/**
 * Parse an infer request's JSON part. The result is what JSON.parse would give, except that inputs' `data` arrays are
 * StreamedData (decoded already); element errors surface as the same InferenceErrors tensor-json throws.
 */
export async function parseInferJsonStreaming(json: Uint8Array): Promise<Record<string, unknown>> {
  const storable = Math.floor(json.length / 2) + 1;
  const stack: Frame[] = [];
  let root: Json | undefined;
  let data: { collector: DataCollector; input: { [key: string]: Json }; start: number; deferred: boolean } | undefined;
  const deferred: { input: { [key: string]: Json }; range: DeferredData }[] = [];

  const place = (value: Json): void => {
    const frame = stack[stack.length - 1];
    if (!frame) {
      root = value;
      return;
    }
    if (Array.isArray(frame.value)) frame.value.push(value);
    else frame.value[frame.key!] = value;
  };
  const childRole = (frame: Frame | undefined): Role => {
    if (!frame) return 'root';
    if (frame.role === 'root' && frame.key === 'inputs') return 'inputs';
    if (frame.role === 'inputs') return 'input';
    return 'other';
  };

  await tokenize(json, (token, value, offset) => {
    if (data) {
      if (!data.collector.take(token, value)) return;
      const range = new DeferredData(data.start, offset + 1);
      if (data.deferred) {
        deferred.push({ input: data.input, range });
        place(range);
      } else {
        place(new StreamedData(data.collector, headerOf(data.input)));
      }
      data = undefined;
      return;
    }
    const frame = stack[stack.length - 1];
    if (frame && !Array.isArray(frame.value) && frame.expectKey) {
      if (token === TokenType.STRING) {
        frame.key = value as string;
        frame.expectKey = false;
      }
      // '}' of an empty object falls through to the closing logic below.
      if (token !== TokenType.RIGHT_BRACE) return;
    }
    switch (token) {
      case TokenType.LEFT_BRACE: {
        const object: { [key: string]: Json } = {};
        place(object);
        stack.push({ role: childRole(frame), value: object, expectKey: true });
        return;
      }
      case TokenType.LEFT_BRACKET: {
        if (frame?.role === 'input' && frame.key === 'data') {
          const input = frame.value as { [key: string]: Json };
          const collector = collectorFor(input, storable);
          data = { collector: collector ?? new DataCollector('data', undefined), input, start: offset, deferred: !collector };
          return;
        }
        const array: Json[] = [];
        place(array);
        stack.push({ role: childRole(frame), value: array, expectKey: false });
        return;
      }
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        stack.pop();
        return;
      case TokenType.COMMA:
        if (frame && !Array.isArray(frame.value)) frame.expectKey = true;
        return;
      case TokenType.COLON:
        return;
      case TokenType.TRUE:
        place(true);
        return;
      case TokenType.FALSE:
        place(false);
        return;
      case TokenType.NULL:
        place(null);
        return;
      default:
        place(value as Json);
    }
  });

  for (const { input, range } of deferred) {
    const collector = collectorFor(input, storable);
    // A header that is still not usable: the codec refuses the input for it, data unread.
    if (!collector) continue;
    await tokenize(json.subarray(range.start, range.end), (token, value, offset) => {
      if (offset > 0) collector.take(token, value);
    });
    input.data = new StreamedData(collector, headerOf(input));
  }
  if (root === null || typeof root !== 'object' || Array.isArray(root) || root instanceof StreamedData || root instanceof DeferredData) {
    throw Errors.badJson('expected a JSON object');
  }
  return root as Record<string, unknown>;
}

/**
 * Tokenizer for the protobuf text format (config.pbtxt), producing tokens with line numbers so
 * that every parse error can name its line.
 *
 * Tokens: identifiers, numbers (decimal, hex, octal, float with optional exponent and f suffix;
 * a leading '-' is its own symbol), strings in single or double quotes with C-style escapes,
 * and the symbols { } < > [ ] : , ; -. '#' starts a comment that runs to the end of the line.
 */
import { ConfigError } from './model-config';

export type TokenKind = 'identifier' | 'number' | 'string' | 'symbol' | 'end';

export interface Token {
  kind: TokenKind;
  /** Source text of the token; for strings, the decoded value. */
  text: string;
  line: number;
}

const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-']);
const IDENTIFIER_START = /[A-Za-z_]/;
const IDENTIFIER_PART = /[A-Za-z0-9_]/;
const NUMBER_PATTERN = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?)/;
const SIMPLE_ESCAPES: Record<string, number> = {
  n: 0x0a, t: 0x09, r: 0x0d, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b,
  '\\': 0x5c, "'": 0x27, '"': 0x22, '?': 0x3f,
};
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Describes a token for error messages: `string "eight"`, `identifier foo`, `'{'`. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'string': {
      const shown = token.text.length > 40 ? `${token.text.slice(0, 40)}...` : token.text;
      return `string ${JSON.stringify(shown)}`;
    }
    case 'identifier':
      return `identifier ${token.text}`;
    case 'number':
      return `number ${token.text}`;
    case 'symbol':
      return `'${token.text}'`;
    case 'end':
      return 'end of input';
  }
}

export class Tokenizer {
  private position = 0;
  private line = 1;
  private lookahead: Token | undefined;

  constructor(
    private readonly text: string,
    private readonly fileName: string,
  ) {
    if (this.text.startsWith('\uFEFF')) this.position = 1;
  }

  peek(): Token {
    if (!this.lookahead) this.lookahead = this.readToken();
    return this.lookahead;
  }

  next(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  /** Consumes the next token when it is the given symbol. */
  acceptSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.kind === 'symbol' && token.text === symbol) {
      this.next();
      return true;
    }
    return false;
  }

  error(message: string, line: number): ConfigError {
    return new ConfigError(`${this.fileName}:${line}: ${message}`, { fileName: this.fileName, line });
  }

  private readToken(): Token {
    this.skipWhitespaceAndComments();
    const line = this.line;
    if (this.position >= this.text.length) return { kind: 'end', text: '', line };
    const char = this.text[this.position];

    if (IDENTIFIER_START.test(char)) {
      const start = this.position;
      while (this.position < this.text.length && IDENTIFIER_PART.test(this.text[this.position])) this.position++;
      return { kind: 'identifier', text: this.text.slice(start, this.position), line };
    }
    if (/\d/.test(char) || (char === '.' && /\d/.test(this.text[this.position + 1] ?? ''))) {
      return this.readNumber(line);
    }
    if (char === '"' || char === "'") return this.readString(char, line);
    if (SYMBOLS.has(char)) {
      this.position++;
      return { kind: 'symbol', text: char, line };
    }
    const shown = JSON.stringify(String.fromCodePoint(this.text.codePointAt(this.position) ?? 0));
    throw this.error(`unexpected character ${shown}`, line);
  }

  private skipWhitespaceAndComments(): void {
    while (this.position < this.text.length) {
      const char = this.text[this.position];
      if (char === '\n') {
        this.line++;
        this.position++;
      } else if (char === ' ' || char === '\t' || char === '\r' || char === '\f' || char === '\v') {
        this.position++;
      } else if (char === '#') {
        while (this.position < this.text.length && this.text[this.position] !== '\n') this.position++;
      } else {
        return;
      }
    }
  }

  private readNumber(line: number): Token {
    const match = NUMBER_PATTERN.exec(this.text.slice(this.position, this.position + 400));
    const text = match ? match[0] : '';
    this.position += text.length;
    // "12abc" or "1.2.3" is one malformed token, not a number followed by something else.
    const following = this.text[this.position] ?? '';
    if (!match || IDENTIFIER_PART.test(following) || following === '.') {
      let end = this.position;
      while (end < this.text.length && /[A-Za-z0-9_.]/.test(this.text[end])) end++;
      throw this.error(`invalid number '${this.text.slice(this.position - text.length, end)}'`, line);
    }
    return { kind: 'number', text, line };
  }

  private readString(quote: string, line: number): Token {
    this.position++; // opening quote
    const bytes: number[] = [];
    for (;;) {
      if (this.position >= this.text.length || this.text[this.position] === '\n') {
        throw this.error('unterminated string', line);
      }
      const char = this.text[this.position];
      if (char === quote) {
        this.position++;
        break;
      }
      if (char === '\\') {
        this.readEscape(bytes, line);
        continue;
      }
      const codePoint = this.text.codePointAt(this.position) ?? 0;
      bytes.push(...Buffer.from(String.fromCodePoint(codePoint), 'utf8'));
      this.position += codePoint > 0xffff ? 2 : 1;
    }
    try {
      return { kind: 'string', text: utf8Decoder.decode(Uint8Array.from(bytes)), line };
    } catch {
      throw this.error('string is not valid UTF-8', line);
    }
  }

  /** Appends the bytes of the escape sequence at the cursor (which is on the backslash). */
  private readEscape(bytes: number[], line: number): void {
    const escape = this.text[this.position + 1] ?? '';
    this.position += 2;
    if (escape in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[escape]);
      return;
    }
    if (/[0-7]/.test(escape)) {
      let digits = escape;
      while (digits.length < 3 && /[0-7]/.test(this.text[this.position] ?? '')) digits += this.text[this.position++];
      const value = parseInt(digits, 8);
      if (value > 0xff) throw this.error(`octal escape '\\${digits}' is out of range`, line);
      bytes.push(value);
      return;
    }
    if (escape === 'x' || escape === 'X') {
      const digits = /^[0-9a-fA-F]{1,2}/.exec(this.text.slice(this.position, this.position + 2))?.[0];
      if (!digits) throw this.error(`invalid escape sequence '\\${escape}' in string`, line);
      this.position += digits.length;
      bytes.push(parseInt(digits, 16));
      return;
    }
    if (escape === 'u' || escape === 'U') {
      const length = escape === 'u' ? 4 : 8;
      const digits = this.text.slice(this.position, this.position + length);
      const codePoint = /^[0-9a-fA-F]+$/.test(digits) && digits.length === length ? parseInt(digits, 16) : NaN;
      if (!(codePoint <= 0x10ffff) || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
        throw this.error(`invalid escape sequence '\\${escape}${digits}' in string`, line);
      }
      this.position += length;
      bytes.push(...Buffer.from(String.fromCodePoint(codePoint), 'utf8'));
      return;
    }
    if (escape === '' || escape === '\n') throw this.error('unterminated string', line);
    throw this.error(`invalid escape sequence '\\${escape}' in string`, line);
  }
}

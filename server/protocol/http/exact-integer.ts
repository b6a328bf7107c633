/**
 * JSON.parse rounds integers past 2^53, but Triton clients send uint64 correlation ids (`parameters.sequence_id`)
 * as JSON numbers. This recovers the exact digits from the request text for such a parameter.
 */

/**
 * The exact value of the integer parameter `key` whose parsed (rounded) value is `parsed`, as a bigint; undefined when
 * the text holds no integer literal for that key that rounds to it (then the rounded number is all there is).
 */
export function exactIntegerParameter(text: string, key: string, parsed: number): bigint | undefined {
  const pattern = new RegExp(`"${key}"\\s*:\\s*(-?\\d+)(?![\\d.eE])`, 'g');
  for (const match of text.matchAll(pattern)) {
    if (Number(match[1]) === parsed) return BigInt(match[1]);
  }
  return undefined;
}

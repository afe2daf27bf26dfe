import type { DestinationStream } from 'pino';
import { expect } from 'vitest';

/** A record as parsed back from one line. */
export type LogLine = Record<string, any>;

/** A pino destination that keeps every chunk it is given, as written. */
export interface MemoryDestination extends DestinationStream {
  /** The raw chunks, one per write. */
  readonly chunks: string[];
  /**
   * Every chunk parsed, after checking it is exactly one physical line of JSON: a single `\n` at
   * the end and no other line terminator (CR, LF, U+2028, U+2029, U+0085, VT, FF) anywhere.
   */
  records(): LogLine[];
  clear(): void;
}

const TERMINATORS = /[\r\n\v\f\u2028\u2029\u0085]/;

export function memoryDestination(): MemoryDestination {
  const chunks: string[] = [];
  return {
    chunks,
    write(chunk: string) {
      chunks.push(chunk);
    },
    records() {
      return chunks.map((chunk) => {
        expect(chunk.endsWith('\n')).toBe(true);
        const line = chunk.slice(0, -1);
        expect(TERMINATORS.test(line)).toBe(false);
        return JSON.parse(line) as LogLine;
      });
    },
    clear() {
      chunks.length = 0;
    },
  };
}

/** Counts the occurrences of `"key":` at any depth of a raw JSON line (duplicate-key check). */
export function countKey(line: string, key: string): number {
  return line.split(`"${key}":`).length - 1;
}

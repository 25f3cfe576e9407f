import { inspect } from 'node:util';

/**
 * Key bytes behind a wrapper that never prints them: JSON, string conversion, util.inspect (and so
 * pino, console.log and vitest diffs) all show `[key redacted]`. Only `bytes()` hands them out, to the
 * cipher functions.
 */
export class SecretKey {
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    this.#bytes = Buffer.from(bytes);
  }

  bytes(): Buffer {
    return this.#bytes;
  }

  get length(): number {
    return this.#bytes.length;
  }

  equals(other: SecretKey): boolean {
    return this.#bytes.equals(other.#bytes);
  }

  toJSON(): string {
    return '[key redacted]';
  }

  toString(): string {
    return '[key redacted]';
  }

  [inspect.custom](): string {
    return 'SecretKey [key redacted]';
  }
}

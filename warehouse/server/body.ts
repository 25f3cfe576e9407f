import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { ClickHouseHttpError, Codes } from './errors.ts';

/**
 * Reads a request body into one Buffer with a size cap, decoding `Content-Encoding` the way a ClickHouse
 * server does for gzip / deflate / br (and zstd when this Node has it). lz4 and ClickHouse's native
 * `decompress=1` block format are not supported and are refused with a clear error.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new ClickHouseHttpError(
      Codes.QUERY_IS_TOO_LARGE,
      `Request body is larger than ${maxBytes} bytes (WAREHOUSE_MAX_BODY_BYTES)`,
    );
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge();
  const encoding = String(req.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  let source: NodeJS.ReadableStream = req;
  if (encoding && encoding !== 'identity') {
    const z = zlib as unknown as Record<string, ((o?: object) => NodeJS.ReadWriteStream) | undefined>;
    const make =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? zlib.createGunzip
        : encoding === 'deflate'
          ? zlib.createInflate
          : encoding === 'br'
            ? zlib.createBrotliDecompress
            : encoding === 'zstd'
              ? z.createZstdDecompress
              : undefined;
    if (!make) {
      throw new ClickHouseHttpError(
        Codes.UNKNOWN_COMPRESSION_METHOD,
        `Unknown HTTP compression method '${encoding}': this warehouse accepts gzip, deflate, br`,
      );
    }
    source = req.pipe(make());
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

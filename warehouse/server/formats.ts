/**
 * Response metadata for output formats, as a ClickHouse server sends it: the Content-Type each output format
 * declares (IOutputFormat::getContentType) and the X-ClickHouse-Summary header. The body bytes themselves
 * are never touched: they are exactly what the engine produced.
 */

const BINARY = new Set([
  'native',
  'rowbinary',
  'rowbinarywithnames',
  'rowbinarywithnamesandtypes',
  'rowbinarywithdefaults',
  'parquet',
  'arrow',
  'arrowstream',
  'orc',
  'avro',
  'msgpack',
  'protobuf',
  'protobufsingle',
  'protobuflist',
  'capnproto',
  'npy',
  'bsoneachrow',
  'rawblob',
]);
export function contentTypeFor(format: string, jsonContentType = 'application/json'): string {
  const f = format.toLowerCase();
  if (BINARY.has(f)) return 'application/octet-stream';
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (f.startsWith('csv'))
    return `text/csv; charset=UTF-8; header=${f.includes('withnames') ? 'present' : 'absent'}`;
  if (f.startsWith('json') || f === 'ndjson' || f === 'prettyjsoneachrow' || f === 'prettyjsonlines') {
    return `${jsonContentType}; charset=UTF-8`;
  }
  if (f === 'xml') return 'application/xml; charset=UTF-8';
  return 'text/plain; charset=UTF-8';
}

export type Summary = {
  readRows: number;
  readBytes: number;
  writtenRows: number;
  writtenBytes: number;
  resultRows: number;
  resultBytes: number;
  elapsedS: number;
};

/**
 * X-ClickHouse-Summary, numbers as strings like ClickHouse. chDB reports the result's rows and bytes but not
 * how many rows a SELECT scanned, so read_rows/read_bytes are 0 for SELECTs (for INSERTs they are the rows
 * and bytes parsed from the body, as in ClickHouse).
 */
export function summaryHeader(s: Summary): string {
  return JSON.stringify({
    read_rows: String(s.readRows),
    read_bytes: String(s.readBytes),
    written_rows: String(s.writtenRows),
    written_bytes: String(s.writtenBytes),
    total_rows_to_read: '0',
    result_rows: String(s.resultRows),
    result_bytes: String(s.resultBytes),
    elapsed_ns: String(Math.round(s.elapsedS * 1e9)),
  });
}

export const EMPTY_SUMMARY: Summary = {
  readRows: 0,
  readBytes: 0,
  writtenRows: 0,
  writtenBytes: 0,
  resultRows: 0,
  resultBytes: 0,
  elapsedS: 0,
};

/**
 * A small lexer for ClickHouse SQL, used only to route an HTTP request, never to decide what is allowed
 * to run (the engine's own `readonly` setting does that). It answers three questions the HTTP layer has to
 * answer before the engine sees the text, exactly where ClickHouse's own HTTP handler answers them:
 *
 *  - where does the inline data of `INSERT ... FORMAT X` / `INSERT ... VALUES` begin (so binary payloads
 *    such as RowBinary or Native go to the engine as bytes, not through a JS string);
 *  - which output format does the statement ask for (for the X-ClickHouse-Format and Content-Type headers);
 *  - does it use `INTO OUTFILE` (a ClickHouse server refuses that over HTTP; chDB, being clickhouse-local,
 *    would write the file on the warehouse host).
 *
 * Comments, string literals, quoted identifiers and heredocs are skipped the way ClickHouse's lexer skips
 * them, so a keyword inside `/* ... *\/`, `'...'` or `"..."` is never seen.
 *
 * The scanner works on a `latin1` view of the bytes so that offsets are byte offsets into the original body.
 */

export type Token = {
  kind: 'word' | 'quoted' | 'string' | 'punct' | 'number';
  text: string;
  start: number;
  end: number;
};

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
const isWordStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
const isWordPart = (c: number) => isWordStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Skips a quoted run starting at `i` (the opening quote). Backslash escapes and doubled quotes, as ClickHouse. */
function skipQuoted(s: string, i: number, quote: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 92) {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (s.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return s.length;
}

/** Lazily yields tokens, skipping whitespace and comments. */
export function* tokens(s: string, from = 0): Generator<Token> {
  let i = from;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // -- comment, and ClickHouse's "# " / "#!" comments
    if ((c === 45 && s.charCodeAt(i + 1) === 45) || (c === 35 && (s[i + 1] === ' ' || s[i + 1] === '!'))) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    // /* nested */ comments
    if (c === 47 && s.charCodeAt(i + 1) === 42) {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (s.charCodeAt(j) === 47 && s.charCodeAt(j + 1) === 42) {
          depth++;
          j += 2;
        } else if (s.charCodeAt(j) === 42 && s.charCodeAt(j + 1) === 47) {
          depth--;
          j += 2;
        } else j++;
      }
      i = j;
      continue;
    }
    if (c === 39) {
      const e = skipQuoted(s, i, 39);
      yield { kind: 'string', text: s.slice(i, e), start: i, end: e };
      i = e;
      continue;
    }
    if (c === 34 || c === 96) {
      const e = skipQuoted(s, i, c);
      yield { kind: 'quoted', text: s.slice(i + 1, e - 1), start: i, end: e };
      i = e;
      continue;
    }
    // heredoc $tag$ ... $tag$
    if (c === 36) {
      const m = /^\$([A-Za-z0-9_]*)\$/.exec(s.slice(i, i + 64));
      if (m) {
        const close = s.indexOf(m[0], i + m[0].length);
        const e = close < 0 ? n : close + m[0].length;
        yield { kind: 'string', text: s.slice(i, e), start: i, end: e };
        i = e;
        continue;
      }
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(s.charCodeAt(j))) j++;
      yield { kind: 'word', text: s.slice(i, j), start: i, end: j };
      i = j;
      continue;
    }
    if (isDigit(c)) {
      let j = i + 1;
      while (j < n && (isWordPart(s.charCodeAt(j)) || s.charCodeAt(j) === 46)) j++;
      yield { kind: 'number', text: s.slice(i, j), start: i, end: j };
      i = j;
      continue;
    }
    yield { kind: 'punct', text: s[i]!, start: i, end: i + 1 };
    i++;
  }
}

const up = (t: Token | undefined) => (t && t.kind === 'word' ? t.text.toUpperCase() : '');

export type InsertSplit = {
  /** The statement text up to the start of the inline data (byte offset into the scanned text). */
  queryEnd: number;
  /** Byte offset where inline data starts, or undefined when the INSERT carries none (INSERT ... SELECT). */
  dataStart: number | undefined;
  /** FORMAT name given in the INSERT, if any ('Values' for VALUES). */
  format: string | undefined;
};

/**
 * If the text is an INSERT, returns where its inline data starts. Follows ClickHouse's ParserInsertQuery:
 * the data begins after `VALUES`, or after `FORMAT <name>` plus spaces/tabs and at most one line break.
 */
export function splitInsert(s: string): InsertSplit | undefined {
  const it = tokens(s);
  const first = it.next();
  if (first.done || up(first.value) !== 'INSERT') return undefined;
  let depth = 0;
  let prev: Token | undefined;
  let pendingFormat = false;
  for (const t of it) {
    if (t.kind === 'punct') {
      if (t.text === '(' || t.text === '[') depth++;
      else if (t.text === ')' || t.text === ']') depth--;
      else if (t.text === ';' && depth === 0)
        return { queryEnd: t.start, dataStart: undefined, format: undefined };
    }
    if (depth === 0 && (t.kind === 'word' || t.kind === 'quoted')) {
      const w = up(t);
      const afterName =
        ['INTO', 'TABLE', 'FUNCTION'].includes(up(prev)) || (prev?.kind === 'punct' && prev.text === '.');
      if (pendingFormat) {
        let i = t.end;
        while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\f')) i++;
        if (s[i] === '\r') i++;
        if (s[i] === '\n') i++;
        return { queryEnd: t.end, dataStart: i, format: t.text };
      }
      if (!afterName && t.kind === 'word') {
        if (w === 'SELECT' || w === 'WITH')
          return { queryEnd: s.length, dataStart: undefined, format: undefined };
        if (w === 'VALUES') return { queryEnd: t.end, dataStart: t.end, format: 'Values' };
        if (w === 'FORMAT') pendingFormat = true;
      }
    }
    prev = t;
  }
  return { queryEnd: s.length, dataStart: undefined, format: undefined };
}

export type StatementInfo = {
  /** True when the text holds nothing but whitespace and comments. */
  empty: boolean;
  /** The `FORMAT x` at the end of a statement, if any. */
  outputFormat: string | undefined;
  /** `INTO OUTFILE` appears as two adjacent keywords anywhere outside comments and literals. */
  intoOutfile: boolean;
};

/** Inspects a (non-INSERT) statement for the HTTP layer. */
export function inspectStatement(s: string): StatementInfo {
  const all = [...tokens(s)];
  let outputFormat: string | undefined;
  let intoOutfile = false;
  let depth = 0;
  for (let k = 0; k < all.length; k++) {
    const t = all[k]!;
    if (t.kind === 'punct') {
      if (t.text === '(' || t.text === '[') depth++;
      else if (t.text === ')' || t.text === ']') depth--;
      continue;
    }
    const w = up(t);
    if (w === 'INTO' && up(all[k + 1]) === 'OUTFILE') intoOutfile = true;
    if (depth === 0 && w === 'FORMAT') {
      const name = all[k + 1];
      const after = all[k + 2];
      const endsHere = !after || (after.kind === 'punct' && after.text === ';') || up(after) === 'SETTINGS';
      if (name && (name.kind === 'word' || name.kind === 'quoted') && endsHere) outputFormat = name.text;
    }
  }
  return {
    empty: all.length === 0 || all.every((t) => t.kind === 'punct' && t.text === ';'),
    outputFormat,
    intoOutfile,
  };
}

/**
 * The leading keyword of every top-level statement in the text (`(` for a parenthesised query).
 * Used as a second, allow-list layer for read-only users on top of the engine's `readonly` setting,
 * which governs data and settings but leaves grant-governed statements (SYSTEM STOP MERGES, KILL QUERY)
 * to access rights that chDB does not model.
 */
export function statementLeaders(s: string): string[] {
  const leaders: string[] = [];
  let depth = 0;
  let atStart = true;
  for (const t of tokens(s)) {
    if (atStart) {
      if (t.kind === 'punct' && t.text === ';') continue;
      leaders.push(t.kind === 'word' ? t.text.toUpperCase() : t.text);
      atStart = false;
    }
    if (t.kind !== 'punct') continue;
    if (t.text === '(' || t.text === '[') depth++;
    else if (t.text === ')' || t.text === ']') depth--;
    else if (t.text === ';' && depth <= 0) atStart = true;
  }
  return leaders;
}

/** Statements a read-only user may send (the engine still refuses whatever among them would write). */
export const READONLY_LEADERS = new Set([
  'SELECT',
  'WITH',
  'SHOW',
  'DESCRIBE',
  'DESC',
  'EXISTS',
  'EXPLAIN',
  'USE',
  'SET',
  '(',
]);

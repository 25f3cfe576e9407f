import type { CellValue } from 'exceljs';
import { newWorkbook } from '../xlsx.ts';

/** A people file as rows of text cells; row 1 is the header. Limits keep a bad file from eating memory. */
export const tableLimits = {
  rowsMax: 50_000,
  columnsMax: 40,
  cellCharsMax: 200,
  fileBytesMax: 20 * 1024 * 1024,
};

export class TableFileError extends Error {
  override name = 'TableFileError';
}

/**
 * RFC 4180 CSV: comma-separated, double quotes around fields with commas, quotes or line breaks, "" for a
 * quote; a UTF-8 byte-order mark is skipped; CRLF or LF line ends.
 */
export function parseCsv(content: Buffer): string[][] {
  if (content.length > tableLimits.fileBytesMax)
    throw new TableFileError(`the file has ${content.length} bytes, more than ${tableLimits.fileBytesMax}`);
  let text = content.toString('utf8');
  if (text.includes('\uFFFD')) throw new TableFileError('the file is not UTF-8 text (save it as CSV UTF-8)');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (rows.length > tableLimits.rowsMax + 1)
        throw new TableFileError(`the file has more than ${tableLimits.rowsMax} rows`);
    } else field += ch;
  }
  if (quoted) throw new TableFileError(`row ${rows.length + 1}: a quoted field is never closed`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  // Blank lines stay (as empty rows) so every row number in a report is the file's own line number.
  return rows.map((r) => (r.some((cell) => cell.trim() !== '') ? r : []));
}

export function toCsv(rows: readonly (readonly string[])[]): Buffer {
  const quote = (cell: string) => (/[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
  return Buffer.from(`\uFEFF${rows.map((r) => r.map(quote).join(',')).join('\r\n')}\r\n`, 'utf8');
}

function cellText(value: CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('text' in value) return String(value.text);
    if ('result' in value) return cellText(value.result as CellValue);
    return '';
  }
  return String(value);
}

/** The first worksheet of an XLSX file as text rows. */
export async function parseXlsx(content: Buffer): Promise<string[][]> {
  if (content.length > tableLimits.fileBytesMax)
    throw new TableFileError(`the file has ${content.length} bytes, more than ${tableLimits.fileBytesMax}`);
  const workbook = await newWorkbook();
  try {
    await workbook.xlsx.load(content as unknown as ArrayBuffer);
  } catch (error) {
    throw new TableFileError(`not an XLSX workbook: ${(error as Error).message}`);
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) throw new TableFileError('the workbook has no worksheet');
  if (sheet.rowCount > tableLimits.rowsMax + 1)
    throw new TableFileError(`the sheet has more than ${tableLimits.rowsMax} rows`);
  const rows: string[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row, rowNumber) => {
    const cells: string[] = [];
    const count = Math.min(row.cellCount, tableLimits.columnsMax);
    for (let c = 1; c <= count; c++) cells.push(cellText(row.getCell(c).value));
    rows[rowNumber - 1] = cells;
  });
  // Keep row numbers as the sheet shows them: blank rows stay as empty arrays.
  return Array.from(rows, (r) => r ?? []);
}

export async function toXlsx(rows: readonly (readonly string[])[], sheetName: string): Promise<Buffer> {
  const workbook = await newWorkbook();
  const sheet = workbook.addWorksheet(sheetName);
  for (const row of rows) sheet.addRow([...row]);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

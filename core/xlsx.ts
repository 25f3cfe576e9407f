import type { Workbook } from 'exceljs';

/**
 * A new exceljs workbook. exceljs adds about 20 MB to a process, and only an XLSX import or export needs
 * it, so it is loaded on the first of those rather than when the API starts.
 */
export async function newWorkbook(): Promise<Workbook> {
  const { default: ExcelJS } = await import('exceljs');
  return new ExcelJS.Workbook();
}

import { basicFileBytes } from './virtual-card.ts';

/** 卡内基本信息 as written on the card: a fixed layout of 112 bytes. */
export interface BasicData {
  cardNo: string;
  schoolId: string;
  personNo: string;
  categoryId: number;
  expiresOn: string;
  reissueCount: number;
  cardKind: 'user' | 'operator' | 'cashier' | 'parameter';
  cardFlag: 'normal' | 'replacement';
  validityMode: 'fixed' | 'years_from_issue' | 'until_graduation';
  name: string;
}

const kinds = ['user', 'operator', 'cashier', 'parameter'] as const;
const flags = ['normal', 'replacement'] as const;
const modes = ['fixed', 'years_from_issue', 'until_graduation'] as const;

export class BasicFileError extends Error {
  override name = 'BasicFileError';
}

function text(value: string, bytes: number, what: string): Buffer {
  const encoded = Buffer.from(value, 'utf8');
  if (encoded.length > bytes)
    throw new BasicFileError(`${what} takes ${encoded.length} bytes in UTF-8; the card holds ${bytes}`);
  const out = Buffer.alloc(bytes);
  encoded.copy(out);
  return out;
}

/** Layout: cardNo 8 | schoolId 32 | personNo 32 | category 2 | expiry BCD 4 | reissue 1 | kind 1 | flag 1 | mode 1 | name 30. */
export function encodeBasic(data: BasicData): Buffer {
  const out = Buffer.concat([
    Buffer.from(data.cardNo, 'hex'),
    text(data.schoolId, 32, 'schoolId'),
    text(data.personNo, 32, 'personNo'),
    Buffer.of(data.categoryId >> 8, data.categoryId & 0xff),
    Buffer.from(data.expiresOn.replaceAll('-', ''), 'hex'),
    Buffer.of(
      Math.min(data.reissueCount, 255),
      kinds.indexOf(data.cardKind),
      flags.indexOf(data.cardFlag),
      modes.indexOf(data.validityMode),
    ),
    // Names are cut at a character boundary to fit 30 bytes (10 Chinese characters).
    text(fitUtf8(data.name, 30), 30, 'name'),
  ]);
  if (out.length !== basicFileBytes)
    throw new BasicFileError(`basic file is ${out.length} bytes, not ${basicFileBytes}`);
  return out;
}

function fitUtf8(value: string, bytes: number): string {
  let out = '';
  for (const ch of value) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}

const untilZero = (b: Buffer) => {
  const end = b.indexOf(0);
  return b.subarray(0, end === -1 ? b.length : end).toString('utf8');
};

/** Reads the file back; a file of the wrong size or with impossible values is named as malformed. */
export function decodeBasic(file: Buffer): BasicData {
  if (file.length !== basicFileBytes)
    throw new BasicFileError(`basic file is ${file.length} bytes, expected ${basicFileBytes}`);
  const expiry = file.subarray(74, 78).toString('hex');
  const kind = kinds[file[79]!];
  const flag = flags[file[80]!];
  const mode = modes[file[81]!];
  if (!/^\d{8}$/.test(expiry) || !kind || !flag || !mode)
    throw new BasicFileError('basic file holds values no card office writes');
  return {
    cardNo: file.subarray(0, 8).toString('hex').toUpperCase(),
    schoolId: untilZero(file.subarray(8, 40)),
    personNo: untilZero(file.subarray(40, 72)),
    categoryId: file.readUInt16BE(72),
    expiresOn: `${expiry.slice(0, 4)}-${expiry.slice(4, 6)}-${expiry.slice(6, 8)}`,
    reissueCount: file[78]!,
    cardKind: kind,
    cardFlag: flag,
    validityMode: mode,
    name: untilZero(file.subarray(82, 112)),
  };
}

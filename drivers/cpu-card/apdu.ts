/**
 * ISO 7816-4 APDUs of the one-card CPU card application, shared by the virtual card and the card
 * office's reader code. Short APDUs only (Lc, Le at most 255 here).
 */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Buffer;
  le: number | undefined;
}

export class MalformedApduError extends Error {
  override name = 'MalformedApduError';
}

/** Cases 1–4 of ISO 7816-3 short APDUs; anything else is malformed, with the reason. */
export function parseCommand(bytes: Buffer): CommandApdu {
  if (bytes.length < 4) throw new MalformedApduError(`an APDU has at least 4 bytes, got ${bytes.length}`);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  if (bytes.length === 4) return { cla, ins, p1, p2, data: Buffer.alloc(0), le: undefined };
  if (bytes.length === 5) return { cla, ins, p1, p2, data: Buffer.alloc(0), le: bytes[4] || 256 };
  const lc = bytes[4]!;
  if (lc === 0) throw new MalformedApduError('extended APDUs are not supported');
  if (bytes.length === 5 + lc) return { cla, ins, p1, p2, data: bytes.subarray(5, 5 + lc), le: undefined };
  if (bytes.length === 6 + lc)
    return { cla, ins, p1, p2, data: bytes.subarray(5, 5 + lc), le: bytes[5 + lc] || 256 };
  throw new MalformedApduError(`Lc says ${lc} data bytes but the APDU has ${bytes.length - 5}`);
}

export function buildCommand(
  cla: number,
  ins: number,
  p1: number,
  p2: number,
  data?: Buffer,
  le?: number,
): Buffer {
  const parts: Buffer[] = [Buffer.of(cla, ins, p1, p2)];
  if (data && data.length > 0) {
    if (data.length > 255) throw new MalformedApduError(`command data of ${data.length} bytes is too long`);
    parts.push(Buffer.of(data.length), data);
  }
  if (le !== undefined) parts.push(Buffer.of(le & 0xff));
  return Buffer.concat(parts);
}

/** Status words the application answers with. */
export const sw = {
  ok: 0x9000,
  wrongLength: 0x6700,
  securityNotSatisfied: 0x6982,
  authenticationFailed: 0x6300,
  conditionsNotSatisfied: 0x6985,
  wrongMac: 0x6988,
  wrongData: 0x6a80,
  fileNotFound: 0x6a82,
  recordNotFound: 0x6a83,
  wrongP1P2: 0x6a86,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
  insufficientBalance: 0x9401,
  amountTooLarge: 0x9402,
} as const;

export const swNames: Record<number, string> = {
  0x6700: 'wrong length',
  0x6982: 'security status not satisfied',
  0x6300: 'authentication failed',
  0x6985: 'conditions of use not satisfied',
  0x6988: 'secure messaging MAC is wrong',
  0x6a80: 'wrong data',
  0x6a82: 'file or application not found',
  0x6a83: 'record not found',
  0x6a86: 'wrong P1/P2',
  0x6d00: 'instruction not supported',
  0x6e00: 'class not supported',
  0x9401: 'insufficient purse balance',
  0x9402: 'amount exceeds the purse maximum',
};

export function response(status: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([data, Buffer.of(status >> 8, status & 0xff)]);
}

/** The one-card application's AID: proprietary RID F0, "ONECARD". */
export const applicationId = Buffer.from('F04F4E4543415244', 'hex');
/** Historical bytes of the ATR that say "a one-card CPU card" (after 3B 8x 80 01). */
export const atrHistorical = Buffer.from('4F4E45434152443031', 'hex'); // "ONECARD01"

export const ins = {
  select: 0xa4,
  readBinary: 0xb0,
  updateBinary: 0xd6,
  readRecord: 0xb2,
  getChallenge: 0x84,
  externalAuthenticate: 0x82,
  getData: 0xca,
  writeKey: 0xd4,
  finishPersonalisation: 0xee,
  initialize: 0x50,
  creditForLoad: 0x52,
  debitForPurchase: 0x54,
  getBalance: 0x5c,
} as const;

/** Key indexes on the card, one per purpose. */
export const keyIndex = {
  purchase: 0x01,
  load: 0x02,
  tac: 0x03,
  pin_unlock: 0x04,
  external_auth: 0x05,
} as const;
/** Algorithm identifiers as PBOC 3.0 writes them. */
export const algorithmByte = { '3des': 0x00, sm4: 0x04 } as const;
export const lifecycle = { blank: 0x01, personalising: 0x02, personalised: 0x07 } as const;
/** The basic data file (卡内基本信息) and the transaction log. */
export const sfi = { basic: 0x15, log: 0x18 } as const;

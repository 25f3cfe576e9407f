import { terminalNumber } from './cipher.ts';

/**
 * The byte layouts of the PBOC e-purse MAC and TAC inputs, shared by the virtual card, the card office
 * and the server's TAC check so the three cannot drift apart. Amounts are unsigned 32-bit fen.
 */
export const transactionType = { load: 0x02, purchase: 0x06 } as const;

export function u32(value: bigint | number, what: string): Buffer {
  const n = BigInt(value);
  if (n < 0n || n > 0xffffffffn) throw new RangeError(`${what} must be 0..4294967295 fen, got ${n}`);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(Number(n));
  return out;
}

export function u16(value: number, what: string): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff)
    throw new RangeError(`${what} must be 0..65535, got ${value}`);
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** Date (yyyymmdd, 4 bytes BCD) and time (hhmmss, 3 bytes BCD) in UTC, as terminals send them. */
export function bcdDateTime(at: Date): { date: Buffer; time: Buffer } {
  const iso = at.toISOString();
  const digits =
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19);
  const bytes = Buffer.from(digits, 'hex');
  return { date: bytes.subarray(0, 4), time: bytes.subarray(4, 7) };
}

export function purchaseMac1Data(input: { amountFen: bigint; terminalId: string; at: Date }): Buffer {
  const { date, time } = bcdDateTime(input.at);
  return Buffer.concat([
    u32(input.amountFen, 'amount'),
    Buffer.of(transactionType.purchase),
    terminalNumber(input.terminalId),
    date,
    time,
  ]);
}

export function purchaseTacData(input: {
  amountFen: bigint;
  terminalId: string;
  terminalSeq: number;
  at: Date;
}): Buffer {
  const { date, time } = bcdDateTime(input.at);
  return Buffer.concat([
    u32(input.amountFen, 'amount'),
    Buffer.of(transactionType.purchase),
    terminalNumber(input.terminalId),
    u32(input.terminalSeq, 'terminal sequence'),
    date,
    time,
  ]);
}

export function loadMac1Data(input: { balanceFen: bigint; amountFen: bigint; terminalId: string }): Buffer {
  return Buffer.concat([
    u32(input.balanceFen, 'balance'),
    u32(input.amountFen, 'amount'),
    Buffer.of(transactionType.load),
    terminalNumber(input.terminalId),
  ]);
}

export function loadMac2Data(input: { amountFen: bigint; terminalId: string; at: Date }): Buffer {
  const { date, time } = bcdDateTime(input.at);
  return Buffer.concat([
    u32(input.amountFen, 'amount'),
    Buffer.of(transactionType.load),
    terminalNumber(input.terminalId),
    date,
    time,
  ]);
}

export function loadTacData(input: {
  balanceFenAfter: bigint;
  onlineCounter: number;
  amountFen: bigint;
  terminalId: string;
  at: Date;
}): Buffer {
  const { date, time } = bcdDateTime(input.at);
  return Buffer.concat([
    u32(input.balanceFenAfter, 'balance after'),
    u16(input.onlineCounter, 'online counter'),
    u32(input.amountFen, 'amount'),
    Buffer.of(transactionType.load),
    terminalNumber(input.terminalId),
    date,
    time,
  ]);
}

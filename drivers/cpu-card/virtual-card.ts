import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decryptBlocks, mac, sessionKey, tacKey, type Algorithm } from '../../core/keys/cipher.ts';
// The card builds its MAC and TAC inputs from raw bytes, not from the office's layout helpers, so a
// layout mistake on either side shows up as a MAC that does not verify.
import { u16, u32 } from '../../core/keys/purse-data.ts';
import { SecretKey } from '../../core/keys/secret.ts';
import {
  algorithmByte,
  applicationId,
  atrHistorical,
  ins,
  keyIndex,
  lifecycle,
  MalformedApduError,
  parseCommand,
  response,
  sfi,
  sw,
  type CommandApdu,
} from './apdu.ts';

export const basicFileBytes = 112;
const purseMaxFen = 0x7fffffff;
const logRecordsMax = 10;

/** Faults a test can build into a card: another ATR (an unknown card), a truncated GET DATA answer. */
export interface CardFaults {
  atrHex?: string;
  shortGetData?: boolean;
}

interface PendingTransaction {
  kind: 'load' | 'purchase';
  amount: number;
  terminal: Buffer;
  key: SecretKey;
  counter: number;
}

/**
 * A contactless CPU card with the one-card application, in software: a basic data file, an e-purse with
 * online (load) and offline (purchase) counters, a cyclic transaction log, and the PBOC purchase and load
 * flows with MAC1/MAC2/TAC. A blank card leaves the "factory" with its chip serial and a transport key
 * (the bureau's external-auth key diversified by that serial); personalisation replaces it.
 * `process` takes a command APDU and returns the response APDU, as a card does.
 */
export class VirtualCpuCard {
  readonly chipSerial: Buffer;
  readonly algorithm: Algorithm;
  private keys = new Map<number, { version: number; key: SecretKey }>();
  private state: number = lifecycle.blank;
  private selected = false;
  private challenge: Buffer | undefined;
  private authenticated = false;
  /** The external-auth key the current session authenticated with; writes are MACed and encrypted under it. */
  private sessionAuthKey: SecretKey | undefined;
  private basic = Buffer.alloc(basicFileBytes);
  private balance = 0;
  private onlineCounter = 0;
  private offlineCounter = 0;
  private log: Buffer[] = [];
  private pending: PendingTransaction | undefined;
  /** For tests: how many APDUs this card has answered, so one can be pulled out "mid-issue". */
  apduCount = 0;

  private readonly faults: CardFaults;

  constructor(options: {
    chipSerial: Buffer;
    transportKey: SecretKey;
    algorithm?: Algorithm;
    faults?: CardFaults;
  }) {
    this.faults = options.faults ?? {};
    if (options.chipSerial.length !== 8) throw new Error('chip serial must be 8 bytes');
    this.chipSerial = Buffer.from(options.chipSerial);
    this.algorithm = options.algorithm ?? 'sm4';
    this.keys.set(keyIndex.external_auth, { version: 0, key: options.transportKey });
  }

  /** ATR: direct convention, T=1, historical bytes "ONECARD01". */
  atr(): Buffer {
    if (this.faults.atrHex) return Buffer.from(this.faults.atrHex, 'hex');
    const t0 = 0x80 | atrHistorical.length;
    const body = Buffer.concat([Buffer.of(t0, 0x80, 0x01), atrHistorical]);
    let tck = 0;
    for (const b of body) tck ^= b;
    return Buffer.concat([Buffer.of(0x3b), body, Buffer.of(tck)]);
  }

  /** Power-on or reset: volatile state is lost, as on a real card. */
  reset(): void {
    this.selected = false;
    this.challenge = undefined;
    this.authenticated = false;
    this.sessionAuthKey = undefined;
    this.pending = undefined;
    this.pendingRandom = undefined;
  }

  get purseBalanceFen(): number {
    return this.balance;
  }

  process(apdu: Buffer): Buffer {
    this.apduCount++;
    let command: CommandApdu;
    try {
      command = parseCommand(apdu);
    } catch (error) {
      if (error instanceof MalformedApduError) return response(sw.wrongLength);
      throw error;
    }
    const pending = this.pending;
    // A purchase or load must be completed by the very next command, as on a PBOC card.
    if (command.ins !== ins.creditForLoad && command.ins !== ins.debitForPurchase) this.pending = undefined;
    switch (command.ins) {
      case ins.select:
        return this.select(command);
      case ins.getData:
        return this.faults.shortGetData
          ? response(sw.ok, this.chipSerial.subarray(0, 3))
          : response(sw.ok, Buffer.concat([this.chipSerial, Buffer.of(this.state)]));
      case ins.getChallenge:
        this.challenge = randomBytes(8);
        return response(sw.ok, this.challenge);
      case ins.externalAuthenticate:
        return this.externalAuthenticate(command);
      case ins.writeKey:
        return this.securedWrite(command, () => this.writeKey(command));
      case ins.updateBinary:
        return this.securedWrite(command, () => this.updateBasic(command));
      case ins.finishPersonalisation:
        return this.securedWrite(command, () => this.finish());
      case ins.readBinary:
        return this.readBinary(command);
      case ins.readRecord:
        return this.readRecord(command);
      case ins.getBalance:
        return this.requirePersonalised() ?? response(sw.ok, u32(this.balance, 'balance'));
      case ins.initialize:
        return this.requirePersonalised() ?? this.initialize(command);
      case ins.creditForLoad:
        this.pending = undefined;
        return this.creditForLoad(command, pending);
      case ins.debitForPurchase:
        this.pending = undefined;
        return this.debitForPurchase(command, pending);
      default:
        return response(sw.insNotSupported);
    }
  }

  private select(command: CommandApdu): Buffer {
    if (command.p1 !== 0x04) return response(sw.wrongP1P2);
    if (!command.data.equals(applicationId)) return response(sw.fileNotFound);
    this.selected = true;
    const fci = Buffer.concat([
      Buffer.of(0x84, applicationId.length),
      applicationId,
      Buffer.of(0xa5, 0x01, this.state),
    ]);
    return response(sw.ok, Buffer.concat([Buffer.of(0x6f, fci.length), fci]));
  }

  private requirePersonalised(): Buffer | undefined {
    if (!this.selected) return response(sw.conditionsNotSatisfied);
    if (this.state !== lifecycle.personalised) return response(sw.conditionsNotSatisfied);
    return undefined;
  }

  private externalAuthenticate(command: CommandApdu): Buffer {
    const challenge = this.challenge;
    this.challenge = undefined;
    if (!challenge) return response(sw.conditionsNotSatisfied);
    if (command.data.length !== 16) return response(sw.wrongLength);
    const key = this.keys.get(keyIndex.external_auth)!.key;
    const plain = decryptBlocks(this.algorithm, key, command.data);
    const expected = Buffer.concat([challenge, Buffer.from(challenge.map((b) => ~b & 0xff))]);
    if (!timingSafeEqual(plain, expected)) {
      this.authenticated = false;
      return response(sw.authenticationFailed);
    }
    this.authenticated = true;
    this.sessionAuthKey = key;
    this.challenge = challenge; // the MACs of the writes that follow chain on this challenge
    return response(sw.ok);
  }

  /** Writes need the external authentication and a MAC over challenge || header || data. */
  private securedWrite(command: CommandApdu, write: () => Buffer): Buffer {
    const key = this.sessionAuthKey;
    if (!this.selected || !this.authenticated || !this.challenge || !key)
      return response(sw.securityNotSatisfied);
    if (command.data.length < 4) return response(sw.wrongLength);
    const body = command.data.subarray(0, command.data.length - 4);
    const given = command.data.subarray(command.data.length - 4);
    const expected = mac(
      this.algorithm,
      key,
      Buffer.concat([this.challenge, Buffer.of(command.cla, command.ins, command.p1, command.p2), body]),
    );
    if (!timingSafeEqual(expected, given)) return response(sw.wrongMac);
    return write();
  }

  private writeKey(command: CommandApdu): Buffer {
    const body = command.data.subarray(0, command.data.length - 4);
    if (body.length !== 18) return response(sw.wrongLength);
    if (![1, 2, 3, 4, 5].includes(command.p2)) return response(sw.wrongP1P2);
    if (body[1] !== algorithmByte[this.algorithm]) return response(sw.wrongData);
    const key = new SecretKey(decryptBlocks(this.algorithm, this.sessionAuthKey!, body.subarray(2)));
    if (this.state === lifecycle.blank) this.state = lifecycle.personalising;
    // A new external-auth key takes effect at the next authentication; this session keeps its key.
    this.keys.set(command.p2, { version: body[0]!, key });
    return response(sw.ok);
  }

  private updateBasic(command: CommandApdu): Buffer {
    if (command.p1 !== (0x80 | sfi.basic)) return response(sw.fileNotFound);
    const body = command.data.subarray(0, command.data.length - 4);
    if (command.p2 + body.length > basicFileBytes) return response(sw.wrongLength);
    if (this.state === lifecycle.blank) this.state = lifecycle.personalising;
    body.copy(this.basic, command.p2);
    return response(sw.ok);
  }

  private finish(): Buffer {
    for (const index of [1, 2, 3, 4, 5])
      if (!this.keys.has(index) || (index === keyIndex.external_auth && this.keys.get(index)!.version === 0))
        return response(sw.conditionsNotSatisfied);
    this.state = lifecycle.personalised;
    this.authenticated = false;
    this.sessionAuthKey = undefined;
    return response(sw.ok);
  }

  private readBinary(command: CommandApdu): Buffer {
    if (!this.selected) return response(sw.conditionsNotSatisfied);
    if (command.p1 !== (0x80 | sfi.basic)) return response(sw.fileNotFound);
    const length = Math.min(command.le ?? basicFileBytes, basicFileBytes - command.p2);
    return response(sw.ok, this.basic.subarray(command.p2, command.p2 + length));
  }

  private readRecord(command: CommandApdu): Buffer {
    if (!this.selected) return response(sw.conditionsNotSatisfied);
    if (command.p2 !== ((sfi.log << 3) | 0x04)) return response(sw.fileNotFound);
    const record = this.log[command.p1 - 1];
    return record ? response(sw.ok, record) : response(sw.recordNotFound);
  }

  private initialize(command: CommandApdu): Buffer {
    const kind = command.p1 === 0x00 ? 'load' : command.p1 === 0x01 ? 'purchase' : undefined;
    if (!kind || command.p2 !== 0x02) return response(sw.wrongP1P2);
    if (command.data.length !== 11) return response(sw.wrongLength);
    const index = command.data[0]!;
    const entry = this.keys.get(kind === 'load' ? keyIndex.load : keyIndex.purchase);
    if (!entry || index !== (kind === 'load' ? keyIndex.load : keyIndex.purchase))
      return response(sw.wrongData);
    const amount = command.data.readUInt32BE(1);
    const terminal = Buffer.from(command.data.subarray(5, 11));
    const random = randomBytes(4);
    if (kind === 'load') {
      if (this.balance + amount > purseMaxFen) return response(sw.amountTooLarge);
      const key = sessionKey(
        this.algorithm,
        entry.key,
        Buffer.concat([random, u16(this.onlineCounter, 'counter'), Buffer.from('8000', 'hex')]),
      );
      const mac1 = mac(
        this.algorithm,
        key,
        Buffer.concat([u32(this.balance, 'b'), u32(amount, 'a'), Buffer.of(0x02), terminal]),
      );
      this.pending = { kind, amount, terminal, key, counter: this.onlineCounter };
      return response(
        sw.ok,
        Buffer.concat([
          u32(this.balance, 'b'),
          u16(this.onlineCounter, 'c'),
          Buffer.of(entry.version, algorithmByte[this.algorithm]),
          random,
          mac1,
        ]),
      );
    }
    if (amount > this.balance) return response(sw.insufficientBalance);
    this.pending = { kind, amount, terminal, key: entry.key, counter: this.offlineCounter };
    // The purchase session key needs the terminal sequence, which DEBIT brings; keep the random for it.
    this.pendingRandom = random;
    return response(
      sw.ok,
      Buffer.concat([
        u32(this.balance, 'b'),
        u16(this.offlineCounter, 'c'),
        Buffer.alloc(3),
        Buffer.of(entry.version, algorithmByte[this.algorithm]),
        random,
      ]),
    );
  }

  private pendingRandom: Buffer | undefined;

  private creditForLoad(command: CommandApdu, pending: PendingTransaction | undefined): Buffer {
    if (!pending || pending.kind !== 'load') return response(sw.conditionsNotSatisfied);
    if (command.p1 !== 0x00 || command.p2 !== 0x00) return response(sw.wrongP1P2);
    if (command.data.length !== 11) return response(sw.wrongLength);
    const date = command.data.subarray(0, 4);
    const time = command.data.subarray(4, 7);
    const expected = mac(
      this.algorithm,
      pending.key,
      Buffer.concat([u32(pending.amount, 'a'), Buffer.of(0x02), pending.terminal, date, time]),
    );
    if (!timingSafeEqual(expected, command.data.subarray(7, 11))) return response(sw.wrongMac);
    this.balance += pending.amount;
    this.onlineCounter += 1;
    this.appendLog(pending.counter, pending.amount, 0x02, pending.terminal, date, time);
    const tac = mac(
      this.algorithm,
      tacKey(this.algorithm, this.keys.get(keyIndex.tac)!.key),
      Buffer.concat([
        u32(this.balance, 'b'),
        u16(this.onlineCounter, 'c'),
        u32(pending.amount, 'a'),
        Buffer.of(0x02),
        pending.terminal,
        date,
        time,
      ]),
    );
    return response(sw.ok, tac);
  }

  private debitForPurchase(command: CommandApdu, pending: PendingTransaction | undefined): Buffer {
    if (!pending || pending.kind !== 'purchase' || !this.pendingRandom)
      return response(sw.conditionsNotSatisfied);
    if (command.p1 !== 0x01 || command.p2 !== 0x00) return response(sw.wrongP1P2);
    if (command.data.length !== 15) return response(sw.wrongLength);
    const terminalSeq = command.data.subarray(0, 4);
    const date = command.data.subarray(4, 8);
    const time = command.data.subarray(8, 11);
    const key = sessionKey(
      this.algorithm,
      pending.key,
      Buffer.concat([this.pendingRandom, u16(pending.counter, 'c'), terminalSeq.subarray(2, 4)]),
    );
    this.pendingRandom = undefined;
    const mac1Input = Buffer.concat([
      u32(pending.amount, 'a'),
      Buffer.of(0x06),
      pending.terminal,
      date,
      time,
    ]);
    if (!timingSafeEqual(mac(this.algorithm, key, mac1Input), command.data.subarray(11, 15)))
      return response(sw.wrongMac);
    this.balance -= pending.amount;
    this.offlineCounter += 1;
    this.appendLog(pending.counter, pending.amount, 0x06, pending.terminal, date, time);
    const tac = mac(
      this.algorithm,
      tacKey(this.algorithm, this.keys.get(keyIndex.tac)!.key),
      Buffer.concat([u32(pending.amount, 'a'), Buffer.of(0x06), pending.terminal, terminalSeq, date, time]),
    );
    const mac2 = mac(this.algorithm, key, u32(pending.amount, 'a'));
    return response(sw.ok, Buffer.concat([tac, mac2]));
  }

  private appendLog(
    counter: number,
    amount: number,
    type: number,
    terminal: Buffer,
    date: Buffer,
    time: Buffer,
  ) {
    const record = Buffer.concat([
      u16(counter, 'c'),
      Buffer.alloc(3),
      u32(amount, 'a'),
      Buffer.of(type),
      terminal,
      date,
      time,
    ]);
    this.log.unshift(record);
    if (this.log.length > logRecordsMax) this.log.pop();
  }
}

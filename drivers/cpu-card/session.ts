import { timingSafeEqual } from 'node:crypto';
import {
  encryptBlocks,
  mac,
  sessionKey,
  tacKey,
  terminalNumber,
  type Algorithm,
} from '../../core/keys/cipher.ts';
import {
  bcdDateTime,
  loadMac1Data,
  loadMac2Data,
  loadTacData,
  purchaseMac1Data,
  u16,
  u32,
} from '../../core/keys/purse-data.ts';
import { OfficeRefusal } from '../../core/keys/refusal.ts';
import type { SecretKey } from '../../core/keys/secret.ts';
import type { CardChannel } from '../pcsc/reader.ts';
import { describeSw } from '../pcsc/reader.ts';
import {
  algorithmByte,
  applicationId,
  atrHistorical,
  buildCommand,
  ins,
  keyIndex,
  lifecycle,
  sfi,
  sw,
} from './apdu.ts';
import { BasicFileError, decodeBasic, encodeBasic, type BasicData } from './basic-file.ts';

export type Lifecycle = 'blank' | 'personalising' | 'personalised';

export interface PendingLoad {
  algorithm: Algorithm;
  amountFen: bigint;
  terminalId: string;
  balanceFenBefore: bigint;
  onlineCounter: number;
  sessionKey: SecretKey;
}

/**
 * The card office's side of the one-card application, over any PC/SC channel: it checks every answer
 * (status word, length, MAC, TAC) and turns a bad one into a refusal that says what the card did.
 */
export class OneCardSession {
  private challenge: Buffer | undefined;

  private constructor(readonly channel: CardChannel) {}

  /** Identifies the card from its ATR and selects the application; anything else is an unknown card. */
  static async open(channel: CardChannel): Promise<OneCardSession> {
    if (!channel.atr.includes(atrHistorical))
      throw new OfficeRefusal(
        'card_is_unknown',
        `the card in ${channel.readerName} is not a one-card CPU card (ATR ${channel.atr.toString('hex').toUpperCase()})`,
      );
    const session = new OneCardSession(channel);
    const selected = await channel.transmit(buildCommand(0x00, ins.select, 0x04, 0x00, applicationId, 0x00));
    if (selected.sw === sw.fileNotFound)
      throw new OfficeRefusal(
        'card_is_unknown',
        'the card has no one-card application (SELECT answered 6A82)',
      );
    session.expect('SELECT', selected.sw);
    return session;
  }

  private expect(command: string, status: number): void {
    if (status === sw.ok) return;
    if (status === sw.wrongMac)
      throw new OfficeRefusal(
        'card_mac_is_wrong',
        `${command}: the card refused the MAC (${describeSw(status)})`,
      );
    throw new OfficeRefusal('card_rejected_command', `${command}: the card answered ${describeSw(status)}`);
  }

  private async call(command: string, apdu: Buffer, length?: number): Promise<Buffer> {
    const answer = await this.channel.transmit(apdu);
    this.expect(command, answer.sw);
    if (length !== undefined && answer.data.length !== length)
      throw new OfficeRefusal(
        'card_response_is_malformed',
        `${command}: expected ${length} bytes of data, the card sent ${answer.data.length}`,
      );
    return answer.data;
  }

  async chipInfo(): Promise<{ chipSerial: string; lifecycle: Lifecycle }> {
    const data = await this.call('GET DATA', buildCommand(0x80, ins.getData, 0x00, 0xc1, undefined, 9), 9);
    const state = {
      [lifecycle.blank]: 'blank',
      [lifecycle.personalising]: 'personalising',
      [lifecycle.personalised]: 'personalised',
    }[data[8]!] as Lifecycle | undefined;
    if (!state)
      throw new OfficeRefusal('card_response_is_malformed', `GET DATA: unknown life-cycle byte ${data[8]}`);
    return { chipSerial: data.subarray(0, 8).toString('hex').toUpperCase(), lifecycle: state };
  }

  /** EXTERNAL AUTHENTICATE; false when the card does not accept this key (so another can be tried). */
  async authenticate(algorithm: Algorithm, key: SecretKey): Promise<boolean> {
    const challenge = await this.call(
      'GET CHALLENGE',
      buildCommand(0x00, ins.getChallenge, 0x00, 0x00, undefined, 8),
      8,
    );
    const proof = encryptBlocks(
      algorithm,
      key,
      Buffer.concat([challenge, Buffer.from(challenge.map((b) => ~b & 0xff))]),
    );
    const answer = await this.channel.transmit(
      buildCommand(0x00, ins.externalAuthenticate, 0x00, keyIndex.external_auth, proof),
    );
    if (answer.sw === sw.authenticationFailed) return false;
    this.expect('EXTERNAL AUTHENTICATE', answer.sw);
    this.challenge = challenge;
    return true;
  }

  private secured(
    algorithm: Algorithm,
    authKey: SecretKey,
    header: [number, number, number, number],
    body: Buffer,
  ): Buffer {
    if (!this.challenge) throw new Error('authenticate before a secured write');
    const tag = mac(algorithm, authKey, Buffer.concat([this.challenge, Buffer.of(...header), body]));
    return buildCommand(...header, Buffer.concat([body, tag]));
  }

  async writeKey(
    algorithm: Algorithm,
    authKey: SecretKey,
    index: number,
    version: number,
    key: SecretKey,
  ): Promise<void> {
    const body = Buffer.concat([
      Buffer.of(version, algorithmByte[algorithm]),
      encryptBlocks(algorithm, authKey, key.bytes()),
    ]);
    await this.call(
      `WRITE KEY ${index}`,
      this.secured(algorithm, authKey, [0x84, ins.writeKey, 0x01, index], body),
    );
  }

  async writeBasic(algorithm: Algorithm, authKey: SecretKey, data: BasicData): Promise<void> {
    let file: Buffer;
    try {
      file = encodeBasic(data);
    } catch (error) {
      if (error instanceof BasicFileError) throw new OfficeRefusal('invalid_input', error.message);
      throw error;
    }
    // Two writes of 56 bytes, each within a short APDU with its MAC.
    for (const offset of [0, 56])
      await this.call(
        'UPDATE BINARY',
        this.secured(
          algorithm,
          authKey,
          [0x04, ins.updateBinary, 0x80 | sfi.basic, offset],
          file.subarray(offset, offset + 56),
        ),
      );
  }

  async finish(algorithm: Algorithm, authKey: SecretKey): Promise<void> {
    await this.call(
      'FINISH PERSONALISATION',
      this.secured(algorithm, authKey, [0x84, ins.finishPersonalisation, 0x00, 0x00], Buffer.alloc(0)),
    );
  }

  async readBasic(): Promise<BasicData> {
    const file = await this.call(
      'READ BINARY',
      buildCommand(0x00, ins.readBinary, 0x80 | sfi.basic, 0x00, undefined, 112),
      112,
    );
    try {
      return decodeBasic(file);
    } catch (error) {
      throw new OfficeRefusal('card_response_is_malformed', `READ BINARY: ${(error as Error).message}`);
    }
  }

  async balanceFen(): Promise<bigint> {
    const data = await this.call(
      'GET BALANCE',
      buildCommand(0x80, ins.getBalance, 0x00, 0x02, undefined, 4),
      4,
    );
    return BigInt(data.readUInt32BE(0));
  }

  /**
   * 圈存, first half: INITIALIZE FOR LOAD; the card's MAC1 proves it holds the card's load key. Nothing
   * has changed on the card yet, so the caller can take the money before crediting.
   */
  async initializeLoad(input: {
    algorithm: Algorithm;
    loadKey: SecretKey;
    amountFen: bigint;
    terminalId: string;
  }): Promise<PendingLoad> {
    const init = await this.call(
      'INITIALIZE FOR LOAD',
      buildCommand(
        0x80,
        ins.initialize,
        0x00,
        0x02,
        Buffer.concat([
          Buffer.of(keyIndex.load),
          u32(input.amountFen, 'amount'),
          terminalNumber(input.terminalId),
        ]),
        0x10,
      ),
      16,
    );
    const balanceFenBefore = BigInt(init.readUInt32BE(0));
    const onlineCounter = init.readUInt16BE(4);
    const random = init.subarray(8, 12);
    const key = sessionKey(
      input.algorithm,
      input.loadKey,
      Buffer.concat([random, u16(onlineCounter, 'counter'), Buffer.from('8000', 'hex')]),
    );
    const mac1 = mac(
      input.algorithm,
      key,
      loadMac1Data({
        balanceFen: balanceFenBefore,
        amountFen: input.amountFen,
        terminalId: input.terminalId,
      }),
    );
    if (!timingSafeEqual(mac1, init.subarray(12, 16)))
      throw new OfficeRefusal(
        'card_mac_is_wrong',
        'INITIALIZE FOR LOAD: the card’s MAC1 does not verify; its load key is not the one this card was issued with',
      );
    return { ...input, balanceFenBefore, onlineCounter, sessionKey: key };
  }

  /** 圈存, second half: CREDIT FOR LOAD with MAC2, and the card's TAC checked under its TAC key. */
  async creditLoad(
    pending: PendingLoad,
    input: { tacKey: SecretKey; at: Date },
  ): Promise<{ balanceFenBefore: bigint; balanceFenAfter: bigint; onlineCounter: number; tac: string }> {
    const { algorithm, amountFen, terminalId } = pending;
    const { date, time } = bcdDateTime(input.at);
    const mac2 = mac(algorithm, pending.sessionKey, loadMac2Data({ amountFen, terminalId, at: input.at }));
    const tac = await this.call(
      'CREDIT FOR LOAD',
      buildCommand(0x80, ins.creditForLoad, 0x00, 0x00, Buffer.concat([date, time, mac2]), 0x04),
      4,
    );
    const balanceFenAfter = pending.balanceFenBefore + amountFen;
    const onlineCounter = pending.onlineCounter + 1;
    const expected = mac(
      algorithm,
      tacKey(algorithm, input.tacKey),
      loadTacData({ balanceFenAfter, onlineCounter, amountFen, terminalId, at: input.at }),
    );
    if (!timingSafeEqual(expected, tac))
      throw new OfficeRefusal('card_mac_is_wrong', 'CREDIT FOR LOAD: the card’s TAC does not verify');
    return {
      balanceFenBefore: pending.balanceFenBefore,
      balanceFenAfter,
      onlineCounter,
      tac: tac.toString('hex').toUpperCase(),
    };
  }

  /**
   * A purchase as a POS with a PSAM runs it: INITIALIZE FOR PURCHASE, DEBIT with MAC1 from the card's
   * purchase key (the PSAM's school key diversified by the card number), MAC2 checked; returns the
   * offline record the terminal uploads, with the card's TAC (the server checks it: buildTacVerifier).
   */
  async purchase(input: {
    algorithm: Algorithm;
    cardPurchaseKey: SecretKey;
    cardNo: string;
    amountFen: bigint;
    terminalId: string;
    terminalSeq: number;
    at: Date;
  }) {
    const init = await this.call(
      'INITIALIZE FOR PURCHASE',
      buildCommand(
        0x80,
        ins.initialize,
        0x01,
        0x02,
        Buffer.concat([
          Buffer.of(keyIndex.purchase),
          u32(input.amountFen, 'amount'),
          terminalNumber(input.terminalId),
        ]),
        0x0f,
      ),
      15,
    );
    const balanceFenBefore = BigInt(init.readUInt32BE(0));
    const counter = init.readUInt16BE(4);
    const random = init.subarray(11, 15);
    const seq = u32(input.terminalSeq, 'terminal sequence');
    const key = sessionKey(
      input.algorithm,
      input.cardPurchaseKey,
      Buffer.concat([random, u16(counter, 'counter'), seq.subarray(2, 4)]),
    );
    const mac1 = mac(input.algorithm, key, purchaseMac1Data(input));
    const { date, time } = bcdDateTime(input.at);
    const answer = await this.call(
      'DEBIT FOR PURCHASE',
      buildCommand(0x80, ins.debitForPurchase, 0x01, 0x00, Buffer.concat([seq, date, time, mac1]), 0x08),
      8,
    );
    if (!timingSafeEqual(mac(input.algorithm, key, u32(input.amountFen, 'amount')), answer.subarray(4, 8)))
      throw new OfficeRefusal('card_mac_is_wrong', 'DEBIT FOR PURCHASE: the card’s MAC2 does not verify');
    return {
      terminalSeq: input.terminalSeq,
      cardNo: input.cardNo,
      cardCounter: counter + 1,
      balanceFenBefore,
      amountFen: input.amountFen,
      balanceFenAfter: balanceFenBefore - input.amountFen,
      at: input.at.toISOString(),
      tac: answer.subarray(0, 4).toString('hex').toUpperCase(),
    };
  }
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { repoRoot } from '../../core/paths.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { runOfficeCommand } from '../../core/cards/office-command.ts';
import { openSchoolStep } from '../../core/cards/organisation.ts';
import { issueOnReader, loadOnReader, rollBackIssuance } from '../../core/cards/reader-office.ts';
import { beginReplacement, transferToNewCard } from '../../core/cards/replacement.ts';
import { createCardholderStep } from '../../core/people/cardholders.ts';
import { diversify, cardDiversifier, type Algorithm } from '../../core/keys/cipher.ts';
import { ensureMasterKeys, rotateMasterKey, transportKey } from '../../core/keys/centre.ts';
import { buildTacVerifier, issuePsam } from '../../core/keys/exchange.ts';
import { loadKek, type Kek } from '../../core/keys/kek.ts';
import { SecretKey } from '../../core/keys/secret.ts';
import { ensureMerchantAccount } from '../../core/ledger/registry.ts';
import { uploadOfflineRecords } from '../../core/ledger/offline/upload.ts';
import type { CardFaults } from '../../drivers/cpu-card/virtual-card.ts';
import { VirtualCardInWorker } from '../../drivers/pcsc/virtual-card-host.ts';
import { OneCardSession } from '../../drivers/cpu-card/session.ts';
import { startPrivatePcscd, type PrivatePcscd } from '../../drivers/pcsc/private-pcscd.ts';
import { connectCard, listReaders, type CardChannel } from '../../drivers/pcsc/reader.ts';
import { stackConfig } from '../support/env.ts';

let pool: Pool;
let kek: Kek;
let pcscd: PrivatePcscd;
/** The card in the reader now; every card made, so afterAll stops their threads. */
let current: VirtualCardInWorker | undefined;
const made: VirtualCardInWorker[] = [];
const tag = randomBytes(3).toString('hex').toUpperCase();
const schoolId = `PC-${tag}`;
const pos = `${schoolId}-POS`;
const office = `${schoolId}-OFFICE`;
let n = 0;
let terminalSeq = 0;
const id = () => `${tag}-${++n}`;

async function step<T extends Record<string, unknown>>(run: Parameters<typeof runOfficeCommand>[1]['run']) {
  return (
    await runOfficeCommand(pool, {
      requestKey: id(),
      kind: 'test',
      operatorId: 'office-1',
      content: id(),
      run,
    })
  ).response as T;
}

async function blankCard(algorithm: Algorithm = 'sm4') {
  const chipSerial = randomBytes(8);
  const key = await transportKey(pool, kek, {
    chipSerial: chipSerial.toString('hex').toUpperCase(),
    algorithm,
    actor: 'card-factory',
    reason: 'test blank card',
  });
  return startCard({ chipSerial, transportKey: key, algorithm });
}

/** A card that is not this bureau's: a random transport key, optionally with faults. */
async function foreignCard(faults: CardFaults = {}) {
  return startCard({ chipSerial: randomBytes(8), transportKey: new SecretKey(randomBytes(16)), faults });
}

async function startCard(options: Omit<Parameters<typeof VirtualCardInWorker.start>[0], 'vpcdPort'>) {
  const card = await VirtualCardInWorker.start({ ...options, vpcdPort: pcscd.vpcdPort });
  made.push(card);
  return card;
}

const balanceOf = async (card: VirtualCardInWorker) => (await card.state()).balanceFen;

async function newHolder() {
  const holder = await step<{ cardholderId: number }>((ctx) =>
    createCardholderStep(ctx, {
      schoolId,
      personNo: `S-${id()}`,
      name: '读卡器学生',
      gender: 'F',
      identityCode: 'student',
    }),
  );
  return BigInt(holder.cardholderId);
}

/** Waits until pcscd reports the reader empty, or holding a card with this ATR. */
async function readerShows(atr: Buffer | undefined) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reader = (await listReaders()).find((r) => r.name.startsWith(pcscd.readerName));
    if (atr ? reader?.cardPresent && reader.atr?.equals(atr) : reader && !reader.cardPresent) return;
    if (Date.now() > deadline)
      throw new Error(`the reader did not show ${atr ? 'the card' : 'no card'} in 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Puts the card into the reader (taking out whatever is there) and waits until pcscd shows it. */
async function insert(card: VirtualCardInWorker): Promise<void> {
  await current?.remove();
  await readerShows(undefined);
  await card.insert();
  current = card;
  await readerShows(card.atr);
}

/** Inserts the card and connects to it through pcscd. */
async function present(card: VirtualCardInWorker): Promise<CardChannel> {
  await insert(card);
  return connectCard({ readerName: pcscd.readerName, timeoutMs: 10_000 });
}

async function withCard<T>(card: VirtualCardInWorker, fn: (channel: CardChannel) => Promise<T>): Promise<T> {
  const channel = await present(card);
  try {
    return await fn(channel);
  } finally {
    channel.close();
  }
}

beforeAll(async () => {
  pool = createPool(stackConfig().DATABASE_URL);
  kek = loadKek();
  pcscd = await startPrivatePcscd();
  const client = await pool.connect();
  try {
    await client.query('begin');
    await ensureMasterKeys(client, kek, 'sm4', 'bureau-admin');
    await ensureMasterKeys(client, kek, '3des', 'bureau-admin');
    await client.query('commit');
  } finally {
    client.release();
  }
  await step((ctx) =>
    openSchoolStep(ctx, kek, {
      schoolId,
      name: '读卡器测试学校',
      district: '测试区',
      kind: 'middle',
      algorithm: 'sm4',
      administrator: { staffNo: `A-${tag}`, name: '管理员', gender: 'M' },
    }),
  );
  await pool.query(
    `insert into merchants (merchant_id, school_id, name, kind) values ($1, $2, '食堂', 'canteen')`,
    [`${schoolId}-CT`, schoolId],
  );
  await ensureMerchantAccount(pool, `${schoolId}-CT`);
  await pool.query(
    `insert into terminals (terminal_id, school_id, merchant_id, kind) values ($1, $2, $3, 'pos'), ($4, $2, $3, 'kiosk')`,
    [pos, schoolId, `${schoolId}-CT`, office],
  );
}, 60_000);

afterAll(async () => {
  for (const card of made) await card.stop();
  await pcscd?.stop();
  await pool?.end();
});

describe('the PC/SC stack', () => {
  test('pcscd lists the vpcd reader; a presented card shows its ATR', async () => {
    const card = await blankCard();
    await withCard(card, async (channel) => {
      expect(channel.readerName).toContain(pcscd.readerName);
      expect(channel.atr).toEqual(card.atr);
    });
    const readers = await listReaders();
    expect(readers.map((r) => r.name).join()).toContain(pcscd.readerName);
  });
});

describe('issue, load and purchase end to end', () => {
  test.each(['sm4', '3des'] as const)(
    '%s: a card issued, loaded and debited; the ledger agrees with the card purse',
    async (algorithm) => {
      const card = await blankCard(algorithm);
      const cardholderId = await newHolder();
      const requestId = id();
      const issued = await withCard(card, (channel) =>
        issueOnReader(pool, kek, channel, {
          requestId,
          operatorId: 'office-1',
          spec: { cardholderId },
          algorithm,
        }),
      );
      const cardNo = issued.response.cardNo as string;
      expect(issued.response).toMatchObject({
        chipSerial: card.chipSerial.toString('hex').toUpperCase(),
        keyAlgorithm: algorithm,
      });

      const loaded = await withCard(card, (channel) =>
        loadOnReader(pool, kek, channel, {
          requestId: id(),
          operatorId: 'cashier-1',
          amountFen: 5000n,
          terminalId: office,
        }),
      );
      expect(loaded).toMatchObject({ cardNo, balanceFenAfter: 5000n, replayed: false });
      expect(await balanceOf(card)).toBe(5000);

      // A POS with a PSAM: the school's purchase key, diversified by the card number, runs the purchase.
      const psam = await issuePsam(pool, kek, {
        psamNo: randomBytes(6).toString('hex').toUpperCase(),
        schoolId,
        terminalId: pos,
        algorithm,
        actor: 'bureau-admin',
      });
      const record = await withCard(card, async (channel) => {
        const session = await OneCardSession.open(channel);
        return session.purchase({
          algorithm,
          cardPurchaseKey: diversify(algorithm, psam.purchaseKey, cardDiversifier(cardNo)),
          cardNo,
          amountFen: 1234n,
          terminalId: pos,
          terminalSeq: ++terminalSeq,
          at: new Date('2026-11-29T04:30:00Z'),
        });
      });
      expect(record).toMatchObject({ cardCounter: 1, balanceFenBefore: 5000n, balanceFenAfter: 3766n });
      const verifier = await buildTacVerifier(pool, kek, {
        cardNos: [cardNo],
        actor: 'collector',
        reason: 'upload',
      });
      // A record whose fields were changed after the card signed it: its TAC no longer verifies.
      const forged = await uploadOfflineRecords(
        pool,
        {
          uploadId: `forged-${id()}`,
          terminalId: pos,
          records: [{ ...record, terminalSeq: 10_000 + record.terminalSeq }],
        },
        verifier,
      );
      expect((forged.response.records as Array<{ outcome: string }>)[0]!.outcome).toBe(
        'purse_tac_is_invalid',
      );
      const upload = await uploadOfflineRecords(
        pool,
        { uploadId: id(), terminalId: pos, records: [record] },
        verifier,
      );
      expect(upload.response).toMatchObject({ outcome: 'ok', acceptedCount: 1 });
      expect((upload.response.records as Array<{ findings: string[] }>)[0]!.findings).toEqual([]);

      const { rows } = await pool.query(
        `select a.balance_fen as wallet, p.balance_fen as mirror, p.counter
           from cards c join accounts a on a.cardholder_id = c.cardholder_id and a.wallet_kind = 'main'
           join card_purses p on p.card_no = c.card_no where c.card_no = $1`,
        [cardNo],
      );
      expect(await balanceOf(card)).toBe(3766);
      expect(rows[0]).toEqual({ wallet: 3766n, mirror: 3766n, counter: 1 });
    },
  );
});

describe('replacement on a new chip (补卡)', () => {
  test('the old card is cancelled as the new chip is issued with reissue count 1 and the replacement flag', async () => {
    const oldChip = await blankCard();
    const cardholderId = await newHolder();
    const first = await withCard(oldChip, (ch) =>
      issueOnReader(pool, kek, ch, { requestId: id(), operatorId: 'o', spec: { cardholderId } }),
    );
    const oldCardNo = first.response.cardNo as string;
    const newChip = await blankCard();
    const wrongHolder = await newHolder();
    const refused = await withCard(newChip, (ch) =>
      issueOnReader(pool, kek, ch, {
        requestId: id(),
        operatorId: 'o',
        spec: { cardholderId: wrongHolder },
        replacesCardNo: oldCardNo,
      }).catch((e: unknown) => e),
    );
    expect(refused).toMatchObject({ code: 'card_not_found' });
    const replaced = await withCard(newChip, (ch) =>
      issueOnReader(pool, kek, ch, {
        requestId: id(),
        operatorId: 'o',
        spec: { cardholderId },
        replacesCardNo: oldCardNo,
      }),
    );
    expect(replaced.response).toMatchObject({ status: 'active' });
    const { rows } = await pool.query(
      `select card_no, status, reissue_count, card_flag, replaces_card_no from cards where card_no = any($1) order by card_no`,
      [[oldCardNo, replaced.response.cardNo]],
    );
    expect(rows).toEqual([
      {
        card_no: oldCardNo,
        status: 'cancelled',
        reissue_count: 0,
        card_flag: 'normal',
        replaces_card_no: null,
      },
      {
        card_no: replaced.response.cardNo,
        status: 'active',
        reissue_count: 1,
        card_flag: 'replacement',
        replaces_card_no: oldCardNo,
      },
    ]);
    const onChip = await withCard(newChip, async (ch) => (await OneCardSession.open(ch)).readBasic());
    expect(onChip).toMatchObject({ reissueCount: 1, cardFlag: 'replacement' });
  });
});

describe('补卡 collected at the counter', () => {
  test('the new card the replacement issued without a chip gets one when its holder collects it, once', async () => {
    const oldChip = await blankCard();
    const cardholderId = await newHolder();
    const first = await withCard(oldChip, (ch) =>
      issueOnReader(pool, kek, ch, { requestId: id(), operatorId: 'o', spec: { cardholderId } }),
    );
    const oldCardNo = first.response.cardNo as string;
    // The replacement's own steps (its workflow runs them): freeze, then, once the wait is over, the transfer.
    await beginReplacement(pool, {
      cardNo: oldCardNo,
      workflowId: `card-replacement/${oldCardNo}`,
      requestKey: id(),
      operatorId: 'o',
      reason: '丢失',
    });
    const moved = await transferToNewCard(pool, {
      cardNo: oldCardNo,
      requestKey: id(),
      operatorId: 'o',
      reason: '丢失',
      waitEnded: 'all_collected',
      silentTerminals: [],
    });
    const newCardNo = moved.response.newCardNo as string;
    const pending = await pool.query(`select chip_serial, status from cards where card_no = $1`, [newCardNo]);
    expect(pending.rows[0]).toEqual({ chip_serial: null, status: 'active' });

    const newChip = await blankCard();
    const collected = await withCard(newChip, (ch) =>
      issueOnReader(pool, kek, ch, {
        requestId: id(),
        operatorId: 'o',
        spec: { cardholderId },
        collectsCardNo: newCardNo,
      }),
    );
    expect(collected.response).toMatchObject({ cardNo: newCardNo, status: 'active' });
    const onChip = await withCard(newChip, async (ch) => (await OneCardSession.open(ch)).readBasic());
    expect(onChip).toMatchObject({ cardNo: newCardNo, reissueCount: 1, cardFlag: 'replacement' });
    const row = await pool.query(
      `select chip_serial is not null as has_chip, key_algorithm from cards where card_no = $1`,
      [newCardNo],
    );
    expect(row.rows[0]).toEqual({ has_chip: true, key_algorithm: 'sm4' });
    const loaded = await withCard(newChip, (ch) =>
      loadOnReader(pool, kek, ch, {
        requestId: id(),
        operatorId: 'o',
        amountFen: 1_000n,
        terminalId: office,
      }),
    );
    expect(loaded.balanceFenAfter).toBe(1_000n);

    // Collected once: another blank chip presented for the same card is refused and stays blank.
    const again = await blankCard();
    const refused = await withCard(again, (ch) =>
      issueOnReader(pool, kek, ch, {
        requestId: id(),
        operatorId: 'o',
        spec: { cardholderId },
        collectsCardNo: newCardNo,
      }).catch((e: unknown) => e),
    );
    expect(refused).toMatchObject({ code: 'issuance_is_finished' });
    const blank = await withCard(again, async (ch) => (await OneCardSession.open(ch)).chipInfo());
    expect(blank.lifecycle).toBe('blank');
  });
});

describe('a card pulled out, unknown cards, wrong keys', () => {
  test('pulled out mid-issue: no card row; presenting it again resumes; the request then replays', async () => {
    const card = await blankCard();
    const cardholderId = await newHolder();
    const requestId = id();
    const channel = await present(card);
    await card.removeAfterApdus(6); // during the key writes
    await expect(
      issueOnReader(pool, kek, channel, { requestId, operatorId: 'office-1', spec: { cardholderId } }),
    ).rejects.toMatchObject({ code: 'card_was_removed' });
    channel.close();
    const { rows: half } = await pool.query(
      `select state, card_no from card_issuances where request_key = $1`,
      [`reader-issue:${requestId}`],
    );
    expect(half[0].state).toBe('writing');
    const { rows: none } = await pool.query(`select 1 from cards where card_no = $1`, [half[0].card_no]);
    expect(none).toHaveLength(0);

    const resumed = await withCard(card, (ch) =>
      issueOnReader(pool, kek, ch, { requestId, operatorId: 'office-1', spec: { cardholderId } }),
    );
    expect(resumed.response.cardNo).toBe(half[0].card_no);
    const again = await withCard(card, (ch) =>
      issueOnReader(pool, kek, ch, { requestId, operatorId: 'office-1', spec: { cardholderId } }),
    );
    expect(again).toMatchObject({ replayed: true, response: { cardNo: half[0].card_no } });
    const basic = await withCard(card, async (ch) => (await OneCardSession.open(ch)).readBasic());
    expect(basic).toMatchObject({ cardNo: half[0].card_no, schoolId, name: '读卡器学生' });
  });

  test('pulled out after its own key was written: resumed with the card-level key', async () => {
    const card = await blankCard();
    const cardholderId = await newHolder();
    const requestId = id();
    const channel = await present(card);
    // SELECT, GET DATA, GET CHALLENGE, EXTERNAL AUTH, 4 keys, 2 binary writes, external-auth key: then out.
    await card.removeAfterApdus(11);
    await expect(
      issueOnReader(pool, kek, channel, { requestId, operatorId: 'o', spec: { cardholderId } }),
    ).rejects.toMatchObject({
      code: 'card_was_removed',
    });
    channel.close();
    const resumed = await withCard(card, (ch) =>
      issueOnReader(pool, kek, ch, { requestId, operatorId: 'o', spec: { cardholderId } }),
    );
    expect(resumed.response.status).toBe('active');
  });

  test('a half-issued card can be rolled back instead; its number is never used', async () => {
    const card = await blankCard();
    const cardholderId = await newHolder();
    const requestId = id();
    const channel = await present(card);
    await card.removeAfterApdus(5);
    await expect(
      issueOnReader(pool, kek, channel, { requestId, operatorId: 'o', spec: { cardholderId } }),
    ).rejects.toThrow();
    channel.close();
    const rolled = await rollBackIssuance(pool, { requestId, operatorId: 'o' });
    expect(rolled.state).toBe('rolled_back');
    await expect(rollBackIssuance(pool, { requestId, operatorId: 'o' })).rejects.toMatchObject({
      code: 'issuance_is_finished',
    });
    // The same chip issued under a new request: the earlier card-level key is found if it was written.
    const fresh = await withCard(card, (ch) =>
      issueOnReader(pool, kek, ch, { requestId: id(), operatorId: 'o', spec: { cardholderId } }),
    );
    expect(fresh.response.cardNo).not.toBe(rolled.cardNo);
  });

  test('an unknown card is named by its ATR', async () => {
    const other = await foreignCard({ atrHex: '3B8F8001804F0CA000000306030001000000006A' });
    await withCard(other, async (channel) => {
      await expect(OneCardSession.open(channel)).rejects.toMatchObject({
        code: 'card_is_unknown',
        message: expect.stringContaining('ATR 3B8F8001804F0CA0'),
      });
    });
  });

  test('a card from another issuer fails external authentication, with no key in the message', async () => {
    const foreign = await foreignCard();
    const cardholderId = await newHolder();
    const requestId = id();
    const error = await withCard(foreign, (ch) =>
      issueOnReader(pool, kek, ch, { requestId, operatorId: 'o', spec: { cardholderId } }).catch(
        (e: unknown) => e,
      ),
    );
    expect(error).toMatchObject({
      code: 'card_mac_is_wrong',
      message: expect.stringContaining('external authentication failed'),
    });
    expect(String((error as Error).message)).not.toMatch(/[0-9A-F]{32}/i);
    await rollBackIssuance(pool, { requestId, operatorId: 'o' });
  });

  test('a malformed answer is named', async () => {
    const short = await foreignCard({ shortGetData: true });
    await withCard(short, async (channel) => {
      const session = await OneCardSession.open(channel);
      await expect(session.chipInfo()).rejects.toMatchObject({
        code: 'card_response_is_malformed',
        message: 'GET DATA: expected 9 bytes of data, the card sent 3',
      });
    });
  });

  test('a load with a wrong card key is caught by MAC1 before any money moves', async () => {
    const card = await blankCard();
    const cardholderId = await newHolder();
    const issued = await withCard(card, (ch) =>
      issueOnReader(pool, kek, ch, { requestId: id(), operatorId: 'o', spec: { cardholderId } }),
    );
    const cardNo = issued.response.cardNo as string;
    // The database says the card has another load key version than the one on the chip.
    const client = await pool.connect();
    let rotated: number;
    try {
      await client.query('begin');
      rotated = (await rotateMasterKey(client, kek, { purpose: 'load', algorithm: 'sm4', actor: 'test' }))
        .version;
      await client.query('commit');
    } finally {
      client.release();
    }
    await pool.query(
      `update cards set key_versions = jsonb_set(key_versions, '{load}', $2::jsonb) where card_no = $1`,
      [cardNo, String(rotated)],
    );
    const error = await withCard(card, (ch) =>
      loadOnReader(pool, kek, ch, {
        requestId: id(),
        operatorId: 'o',
        amountFen: 100n,
        terminalId: office,
      }).catch((e: unknown) => e),
    );
    expect(error).toMatchObject({
      code: 'card_mac_is_wrong',
      message: expect.stringContaining('MAC1 does not verify'),
    });
    const { rows } = await pool.query(
      `select a.balance_fen from accounts a join cards c using (cardholder_id) where c.card_no = $1 and a.wallet_kind = 'main'`,
      [cardNo],
    );
    expect(rows[0].balance_fen).toBe(0n);
    expect(await balanceOf(card)).toBe(0);
  });
});

describe('the read-card command', () => {
  const run = (env: Record<string, string>, args: string[] = []) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'drivers/read-card.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  test('reads an issued card: chip serial, life cycle, basic data and purse balance', async () => {
    const card = await blankCard();
    const cardholderId = await newHolder();
    await withCard(card, (ch) =>
      issueOnReader(pool, kek, ch, { requestId: id(), operatorId: 'o', spec: { cardholderId } }),
    );
    await insert(card);
    const read = await run({ PCSCLITE_CSOCK_NAME: pcscd.socketPath }, ['--reader', pcscd.readerName]);
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({
      oneCard: true,
      lifecycle: 'personalised',
      chipSerial: card.chipSerial.toString('hex').toUpperCase(),
      basic: { schoolId, name: '读卡器学生' },
      balanceFen: '0',
    });
  });

  test('says clearly when there is no PC/SC service, and when an option is wrong', async () => {
    const none = await run({ PCSCLITE_CSOCK_NAME: '/nonexistent/pcscd.comm' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/read-card: reader_not_found: PC\/SC is not available/);
    const bad = await run({ PCSCLITE_CSOCK_NAME: pcscd.socketPath }, ['--wait-ms', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--wait-ms must be a whole number of milliseconds, got "soon"');
  });
});

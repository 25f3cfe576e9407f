import type { Pool } from '../../db/pool.ts';
import { Book, credit, debit, type PostingLine } from '../book.ts';
import { businessDate, mealPeriodAt } from '../calendar.ts';
import { compareWithStored, fingerprint } from '../idempotency.ts';
import { fenToJson, minFen, sumFen, type Fen } from '../money.ts';
import { refusalMessages, type RefusalCode } from '../outcomes.ts';
import type { LedgerAnswer } from '../purchase/execute.ts';
import { findUnitAccount } from '../store/lookups.ts';
import { loadTerminals, lockCards } from '../store/purchase-state.ts';
import {
  findStoredRequests,
  lockAccounts,
  withLedgerTransaction,
  type Client,
} from '../store/unit-of-work.ts';
import { writeLedger, type PlannedTransaction, type RequestRecord } from '../store/write.ts';
import { subjects } from '../subjects.ts';
import { recordCollection, transferredReplacements } from './collections.ts';
import {
  checkOfflineRecord,
  type OfflineRecord,
  type PurseFinding,
  type PurseMirror,
} from './check-record.ts';
import { verifyRecordTac, type TacVerifier } from './tac.ts';

export interface OfflineUpload {
  uploadId: string;
  terminalId: string;
  records: OfflineRecord[];
}

type RecordAnswer = Record<string, unknown> & { outcome: string; terminalSeq: number };

const recordKey = (terminalId: string, seq: number) => `offline:${terminalId}:${seq}`;
const recordContent = (r: OfflineRecord) => ({ ...r });

async function loadMirrors(client: Client, cardNos: string[]) {
  const { rows } = await client.query<{ card_no: string; balance_fen: bigint; counter: number }>(
    `select card_no, balance_fen, counter from card_purses where card_no = any($1::text[]) order by card_no for update`,
    [cardNos],
  );
  const { rows: used } = await client.query<{ card_no: string; counter: number }>(
    `select card_no, counter from card_purse_counters where card_no = any($1::text[])`,
    [cardNos],
  );
  return {
    mirrors: new Map<string, PurseMirror>(
      rows.map((r) => [r.card_no, { balanceFen: r.balance_fen, counter: r.counter }]),
    ),
    usedCounters: new Set(used.map((u) => `${u.card_no}#${u.counter}`)),
  };
}

/**
 * 脱机流水上传: a terminal's offline records, booked in one database transaction. The money already left
 * the card, so a record that passes its checks is booked even when the main wallet has less: the
 * shortfall goes to suspense (待处理) and is reported, and no wallet goes below zero. Each record is
 * idempotent on its own (terminal + sequence), and so is the upload.
 */
export async function uploadOfflineRecords(
  pool: Pool,
  upload: OfflineUpload,
  verifyTac: TacVerifier = verifyRecordTac,
): Promise<LedgerAnswer> {
  const uploadKey = `offline-upload:${upload.terminalId}:${upload.uploadId}`;
  const uploadPrint = fingerprint({ terminalId: upload.terminalId, records: upload.records });
  const uploadAmount = sumFen(upload.records.map((r) => r.amountFen));
  return withLedgerTransaction(pool, async (client) => {
    const storedUpload = (await findStoredRequests(client, [uploadKey])).get(uploadKey);
    if (storedUpload) {
      const same = compareWithStored(storedUpload, { fingerprint: uploadPrint, amountFen: uploadAmount });
      return same.repeat
        ? { response: storedUpload.response as LedgerAnswer['response'], replayed: true }
        : { response: { outcome: same.refusal, message: refusalMessages[same.refusal] }, replayed: false };
    }
    const finish = async (response: LedgerAnswer['response']): Promise<LedgerAnswer> => {
      await client.query(
        `insert into ledger_requests (request_key, kind, fingerprint, amount_fen, outcome, response) values ($1, 'offline_upload', $2, $3, $4, $5)`,
        [uploadKey, uploadPrint, uploadAmount.toString(), response.outcome, JSON.stringify(response)],
      );
      return { response, replayed: false };
    };

    // A refusal of the whole upload writes nothing: it can be sent again once the terminal is registered.
    const terminal = (await loadTerminals(client, [upload.terminalId])).get(upload.terminalId);
    if (!terminal)
      return {
        response: {
          outcome: 'terminal_not_found',
          message: `${refusalMessages.terminal_not_found}: terminalId ${upload.terminalId}`,
        },
        replayed: false,
      };
    if (terminal.payableAccountId === null)
      return {
        response: {
          outcome: 'terminal_takes_no_payments',
          message: `${refusalMessages.terminal_takes_no_payments}: terminalId ${upload.terminalId}`,
        },
        replayed: false,
      };
    const { rows: schoolRows } = await client.query<{ school_id: string }>(
      `select school_id from terminals where terminal_id = $1`,
      [upload.terminalId],
    );
    const suspense = (await findUnitAccount(client, schoolRows[0]!.school_id, subjects.suspense))!;

    /** Answers of records booked or refused now, by sequence; repeats of stored records, by position. */
    const answers = new Map<number, RecordAnswer>();
    const storedAnswers = new Map<number, RecordAnswer>();
    const storedRecords = await findStoredRequests(
      client,
      upload.records.map((r) => recordKey(upload.terminalId, r.terminalSeq)),
    );
    const fresh: OfflineRecord[] = [];
    const seenSeq = new Map<number, OfflineRecord>();
    upload.records.forEach((record, index) => {
      const stored = storedRecords.get(recordKey(upload.terminalId, record.terminalSeq));
      if (stored) {
        const same = compareWithStored(stored, {
          fingerprint: fingerprint(recordContent(record)),
          amountFen: record.amountFen,
        });
        storedAnswers.set(
          index,
          same.repeat
            ? { ...(stored.response as RecordAnswer), replayed: true }
            : {
                terminalSeq: record.terminalSeq,
                outcome: same.refusal,
                message: refusalMessages[same.refusal],
              },
        );
      } else if (!seenSeq.has(record.terminalSeq)) {
        seenSeq.set(record.terminalSeq, record);
        fresh.push(record);
      }
    });
    // A sequence number twice in one upload: the same record again is a repeat of the first; another
    // record under the same number is refused, like a key reused with other content.
    const answerOfRecord = (record: OfflineRecord, index: number): RecordAnswer => {
      const storedAnswer = storedAnswers.get(index);
      if (storedAnswer) return storedAnswer;
      const first = seenSeq.get(record.terminalSeq)!;
      const answer = answers.get(record.terminalSeq)!;
      if (first === record) return answer;
      const same = compareWithStored(
        {
          requestKey: '',
          fingerprint: fingerprint(recordContent(first)),
          amountFen: first.amountFen,
          outcome: answer.outcome,
          response: answer,
        },
        { fingerprint: fingerprint(recordContent(record)), amountFen: record.amountFen },
      );
      return same.repeat
        ? { ...answer, replayed: true }
        : { terminalSeq: record.terminalSeq, outcome: same.refusal, message: refusalMessages[same.refusal] };
    };

    const cardNos = [...new Set(fresh.map((r) => r.cardNo))];
    const cards = await lockCards(client, cardNos, [upload.terminalId]);
    const { mirrors, usedCounters } = await loadMirrors(client, cardNos);
    // A replaced card's record that comes after its balance went to the new card is booked all the same
    // (the money left the old card's purse) against the holder's wallets, which the new card now holds.
    const replacedBy = await transferredReplacements(client, cardNos);
    const accountIds = [
      terminal.payableAccountId,
      suspense,
      ...[...cards.values()].map((c) => c.walletAccountIds.main!),
    ];
    const book = new Book(await lockAccounts(client, accountIds));

    const transactions: PlannedTransaction[] = [];
    const requests: RequestRecord[] = [];
    const reports: Array<{ cardNo: string; kind: string; recordKey: string; detail: unknown }> = [];
    const counters: Array<{ cardNo: string; counter: number; recordKey: string }> = [];
    const ordered = [...fresh].sort((a, b) =>
      a.cardNo === b.cardNo ? a.cardCounter - b.cardCounter : a.cardNo < b.cardNo ? -1 : 1,
    );
    for (const record of ordered) {
      const key = recordKey(upload.terminalId, record.terminalSeq);
      const card = cards.get(record.cardNo);
      const usedKey = `${record.cardNo}#${record.cardCounter}`;
      const checked: { refusal: RefusalCode } | { findings: PurseFinding[] } = card
        ? checkOfflineRecord(
            record,
            upload.terminalId,
            mirrors.get(record.cardNo),
            usedCounters.has(usedKey),
            verifyTac,
          )
        : { refusal: 'card_not_found' };
      let answer: RecordAnswer;
      if ('refusal' in checked) {
        answer = {
          terminalSeq: record.terminalSeq,
          outcome: checked.refusal,
          message: refusalMessages[checked.refusal],
        };
        const reportKind = {
          purse_counter_is_duplicated: 'duplicate_counter',
          purse_record_is_inconsistent: 'inconsistent_record',
          purse_tac_is_invalid: 'tac_invalid',
        }[checked.refusal as string];
        if (reportKind)
          reports.push({
            cardNo: record.cardNo,
            kind: reportKind,
            recordKey: key,
            detail: { cardCounter: record.cardCounter, amountFen: String(record.amountFen) },
          });
      } else {
        const main = card!.walletAccountIds.main!;
        const fromWallet = minFen(record.amountFen, book.available(main));
        const shortfall: Fen = record.amountFen - fromWallet;
        const lines: PostingLine[] = [];
        if (fromWallet > 0n) lines.push(debit(main, fromWallet));
        if (shortfall > 0n) lines.push(debit(suspense, shortfall));
        lines.push(credit(terminal.payableAccountId, record.amountFen));
        const findings: Array<{ cardNo: string; kind: string; recordKey: string; detail: unknown }> =
          checked.findings.map((f) => ({
            cardNo: record.cardNo,
            kind: f.kind,
            recordKey: key,
            detail: f.detail,
          }));
        const newCardNo = replacedBy.get(record.cardNo);
        if (newCardNo)
          findings.push({
            cardNo: record.cardNo,
            kind: 'after_replacement',
            recordKey: key,
            detail: { newCardNo, amountFen: String(record.amountFen) },
          });
        if (shortfall > 0n)
          findings.push({
            cardNo: record.cardNo,
            kind: 'shortfall',
            recordKey: key,
            detail: { shortfallFen: String(shortfall) },
          });
        reports.push(...findings);
        const at = new Date(record.at);
        transactions.push({
          requestKey: key,
          kind: 'offline_purchase',
          amountFen: record.amountFen,
          cardNo: record.cardNo,
          terminalId: upload.terminalId,
          merchantId: terminal.merchantId ?? undefined,
          mealPeriod: mealPeriodAt(terminal.mealPeriods, at),
          businessDate: businessDate(at),
          detail: {
            terminalSeq: record.terminalSeq,
            cardCounter: record.cardCounter,
            cardStatus: card!.status,
            shortfallFen: String(shortfall),
          },
          postings: book.post(lines),
          event: {
            topic: 'ledger.offline_purchase',
            aggregateKey: record.cardNo,
            payload: {
              cardNo: record.cardNo,
              terminalId: upload.terminalId,
              terminalSeq: record.terminalSeq,
              amountFen: fenToJson(record.amountFen),
              at: record.at,
            },
          },
        });
        answer = {
          terminalSeq: record.terminalSeq,
          outcome: 'ok',
          amountFen: fenToJson(record.amountFen),
          findings: findings.map((f) => f.kind),
        };
        counters.push({ cardNo: record.cardNo, counter: record.cardCounter, recordKey: key });
        usedCounters.add(usedKey);
        const mirror = mirrors.get(record.cardNo);
        if (!mirror || record.cardCounter > mirror.counter)
          mirrors.set(record.cardNo, { counter: record.cardCounter, balanceFen: record.balanceFenAfter });
      }
      answers.set(record.terminalSeq, answer);
      // An unknown card may be registered later: that refusal is not stored, so the record can come again.
      if (answer.outcome !== 'card_not_found')
        requests.push({
          requestKey: key,
          kind: 'offline_purchase',
          fingerprint: fingerprint(recordContent(record)),
          amountFen: record.amountFen,
          outcome: answer.outcome,
          response: answer,
        });
    }

    const stored = await writeLedger(client, { transactions, balances: book.changed(), requests });
    for (const request of requests) {
      const answer = stored.get(request.requestKey) as RecordAnswer;
      answers.set(answer.terminalSeq, answer);
    }
    await storePurseState(client, mirrors, counters, reports);
    await recordCollection(client, upload.terminalId, upload.uploadId);
    const records = upload.records.map(answerOfRecord);
    return finish({
      outcome: 'ok',
      uploadId: upload.uploadId,
      terminalId: upload.terminalId,
      acceptedCount: records.filter((r) => r.outcome === 'ok').length,
      refusedCount: records.filter((r) => r.outcome !== 'ok').length,
      records,
    });
  });
}

async function storePurseState(
  client: Client,
  mirrors: Map<string, PurseMirror>,
  counters: Array<{ cardNo: string; counter: number; recordKey: string }>,
  reports: Array<{ cardNo: string; kind: string; recordKey: string; detail: unknown }>,
): Promise<void> {
  const entries = [...mirrors.entries()];
  await client.query(
    `insert into card_purses (card_no, balance_fen, counter)
     select * from unnest($1::text[], $2::bigint[], $3::int[])
     on conflict (card_no) do update set balance_fen = excluded.balance_fen, counter = excluded.counter, updated_at = now()`,
    [
      entries.map(([cardNo]) => cardNo),
      entries.map(([, m]) => m.balanceFen.toString()),
      entries.map(([, m]) => m.counter),
    ],
  );
  await client.query(
    `insert into card_purse_counters (card_no, counter, record_key) select * from unnest($1::text[], $2::int[], $3::text[])`,
    [counters.map((c) => c.cardNo), counters.map((c) => c.counter), counters.map((c) => c.recordKey)],
  );
  await client.query(
    `insert into purse_reports (card_no, kind, record_key, detail) select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])`,
    [
      reports.map((r) => r.cardNo),
      reports.map((r) => r.kind),
      reports.map((r) => r.recordKey),
      reports.map((r) => JSON.stringify(r.detail)),
    ],
  );
}

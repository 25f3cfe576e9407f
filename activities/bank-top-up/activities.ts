import { randomInt } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from '../../core/db/pool.ts';
import { findBoundCard, type BoundCard } from '../../core/bank/bindings.ts';
import { BankProtocolError, type BankGateway } from '../../core/bank/port.ts';
import {
  approveIfCodeMatches,
  codeMatches,
  hashCode,
  openTopUpRecord,
  topUpBankCard,
  updateTopUpRecord,
} from '../../core/bank/top-up-records.ts';
import { closeCreditKey, creditWalletFromBank } from '../../core/bank/wallet-credit.ts';
import type { OutgoingSms, SmsSender } from '../../core/sms/port.ts';
import { createOutboxSender } from '../../core/sms/sender.ts';
import { renderSms } from '../../core/sms/templates.ts';
import type { BankTopUpActivities } from './types.ts';

export interface BankTopUpDeps {
  db: Pool;
  sms?: SmsSender;
  bank?: BankGateway;
}

/** Stands in when no bank is configured (BANK_GATEWAY_URL unset): every call is a clear refusal. */
const noBank: BankGateway = {
  debit: () =>
    Promise.reject(ApplicationFailure.nonRetryable('BANK_GATEWAY_URL is not set', 'bank_not_configured')),
  statement: () => Promise.reject(new Error('BANK_GATEWAY_URL is not set')),
  refund: () =>
    Promise.reject(ApplicationFailure.nonRetryable('BANK_GATEWAY_URL is not set', 'bank_not_configured')),
};

/** The idempotency key of an outside call: the workflow id and this activity's id (the same on retries). */
/**
 * Sends through the SMS port; Twilio's refusal of the message itself (a 4xx other than 429: a bad or
 * opted-out number) is final, so it is non-retryable `sms_refused` instead of twenty attempts.
 */
async function sendOrRefuse(sms: SmsSender, message: OutgoingSms): Promise<{ sid: string }> {
  try {
    return await sms.send(message);
  } catch (error) {
    const { status, code } = error as { status?: number; code?: number };
    if (status !== undefined && status >= 400 && status < 500 && status !== 429)
      throw ApplicationFailure.nonRetryable(`Twilio refused the message: ${code ?? status}`, 'sms_refused');
    throw error;
  }
}

function callKey(): string {
  const info = Context.current().info;
  if (!info.workflowExecution) throw new Error('bank top-up activities run inside a workflow only');
  return `${info.workflowExecution.workflowId}/${info.activityId}`;
}

async function boundCard(db: Pool, cardNo: string): Promise<BoundCard> {
  const card = await findBoundCard(db, cardNo);
  if (!card) throw ApplicationFailure.nonRetryable(`card ${cardNo} has no bound parent`, 'parent_not_bound');
  return card;
}

export function createBankTopUpActivities(deps: BankTopUpDeps): BankTopUpActivities {
  const { db } = deps;
  const sms = deps.sms ?? createOutboxSender(db);
  const bank = deps.bank ?? noBank;
  const cancellation = () => Context.current().cancellationSignal;

  return {
    async requestTopUpApproval(input) {
      const card = await boundCard(db, input.cardNo);
      const key = callKey();
      // A fresh code on every attempt that has not sent its text yet; the record keeps the last one's hash.
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await openTopUpRecord(db, {
        workflowId: input.workflowId,
        cardNo: input.cardNo,
        schoolId: input.schoolId,
        amountFen: input.amountFen,
        trigger: input.trigger,
        guardianPhone: card.guardianPhone,
        bankCardToken: card.bankCardToken,
        codeHash: hashCode(input.workflowId, code),
      });
      const already = await db.query(`select 1 from sms_messages where idempotency_key = $1`, [key]);
      if (already.rows.length === 0)
        await db.query(`update bank_top_ups set code_hash = $2 where workflow_id = $1`, [
          input.workflowId,
          hashCode(input.workflowId, code),
        ]);
      const request = (shownCode: string) =>
        renderSms({
          template: 'top_up_request',
          holderName: card.holderName,
          amountFen: input.amountFen,
          code: shownCode,
          hours: Math.max(1, Math.round(input.replyTimeoutMs / 3_600_000)),
          last4: card.bankCardLast4 ?? undefined,
        });
      const sent = await sendOrRefuse(sms, {
        idempotencyKey: key,
        to: card.guardianPhone,
        workflowId: input.workflowId,
        template: 'top_up_request',
        body: request(code),
        loggedBody: request('******'),
      });
      return { smsSid: sent.sid };
    },

    async checkTopUpCode({ workflowId, code }) {
      return codeMatches(db, workflowId, code);
    },

    async approveTopUp({ workflowId, code }) {
      return approveIfCodeMatches(db, workflowId, code);
    },

    async sendTopUpNotice(notice) {
      const card = await boundCard(db, notice.cardNo);
      const holderName = card.holderName;
      const body =
        notice.template === 'top_up_help'
          ? renderSms({ template: 'top_up_help' })
          : notice.template === 'top_up_confirmed'
            ? renderSms({
                template: 'top_up_confirmed',
                holderName,
                amountFen: notice.amountFen ?? 0,
                balanceFenAfter: notice.balanceFenAfter ?? card.mainBalanceFen,
              })
            : notice.template === 'top_up_failed'
              ? renderSms({ template: 'top_up_failed', holderName, reason: notice.reason ?? '银行未受理' })
              : renderSms({ template: notice.template, holderName });
      const sent = await sendOrRefuse(sms, {
        idempotencyKey: callKey(),
        to: card.guardianPhone,
        workflowId: notice.workflowId,
        template: notice.template,
        body,
      });
      return { smsSid: sent.sid };
    },

    async debitParentBankCard({ workflowId, cardNo, amountFen }) {
      // The card the parent approved, not whatever the binding says now: a retry must repeat its request.
      const cardToken = (await topUpBankCard(db, workflowId)) ?? (await boundCard(db, cardNo)).bankCardToken;
      let result;
      try {
        result = await bank.debit(
          { idempotencyKey: callKey(), cardToken, amountFen, reference: workflowId },
          cancellation(),
        );
      } catch (error) {
        if (error instanceof BankProtocolError)
          throw ApplicationFailure.nonRetryable(error.message, 'bank_protocol_error');
        throw error;
      }
      if (result.outcome === 'declined') {
        await updateTopUpRecord(db, workflowId, {
          status: 'bank_declined',
          detail: { bankCode: result.code },
        });
        throw ApplicationFailure.nonRetryable(`the bank declined: ${result.code}`, 'bank_declined', {
          code: result.code,
        });
      }
      await updateTopUpRecord(db, workflowId, { status: 'debited', bankDebitId: result.debitId });
      return { debitId: result.debitId, replayed: result.replayed };
    },

    async creditStudentWallet({ workflowId, cardNo, amountFen }) {
      const credit = await creditWalletFromBank(db, { workflowId, cardNo, amountFen, at: new Date() });
      if (credit.outcome !== 'ok' || !('transactionId' in credit))
        throw ApplicationFailure.nonRetryable(
          `the ledger refused the credit: ${'message' in credit ? credit.message : credit.outcome}`,
          'ledger_refused',
          { code: credit.outcome },
        );
      await updateTopUpRecord(db, workflowId, {
        status: 'credited',
        ledgerTransactionId: credit.transactionId,
      });
      return { transactionId: credit.transactionId, balanceFenAfter: credit.balanceFenAfter };
    },

    async refundParentBankCard({ workflowId, debitId, amountFen, reason }) {
      const closed = await closeCreditKey(db, { workflowId, amountFen });
      if (closed.credited) {
        await updateTopUpRecord(db, workflowId, {
          status: 'credited',
          ledgerTransactionId: closed.transactionId,
        });
        return { refunded: false, transactionId: closed.transactionId };
      }
      let result;
      try {
        result = await bank.refund({ idempotencyKey: callKey(), debitId, amountFen, reason }, cancellation());
      } catch (error) {
        if (error instanceof BankProtocolError)
          throw ApplicationFailure.nonRetryable(error.message, 'bank_protocol_error');
        throw error;
      }
      if (result.outcome === 'declined')
        // A debit we hold the id of that the bank will not refund needs a person: fail loudly.
        throw ApplicationFailure.nonRetryable(
          `the bank refused the refund: ${result.code}`,
          'refund_refused',
        );
      await updateTopUpRecord(db, workflowId, { status: 'refunded', bankRefundId: result.refundId });
      return { refunded: true, refundId: result.refundId };
    },

    async recordTopUpOutcome({ workflowId, status, detail }) {
      await updateTopUpRecord(db, workflowId, { status, detail });
    },
  };
}

import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from '../../core/db/pool.ts';
import { findBoundCard } from '../../core/bank/bindings.ts';
import { listCard } from '../../core/blacklist/entries.ts';
import { logPriorityPush } from '../../core/blacklist/distribution.ts';
import { beginReplacement, silentTerminals, transferToNewCard } from '../../core/cards/replacement.ts';
import { OfficeRefusal } from '../../core/keys/refusal.ts';
import type { SmsSender } from '../../core/sms/port.ts';
import { createOutboxSender } from '../../core/sms/sender.ts';
import { yuan } from '../../core/sms/templates.ts';
import type { CardReplacementActivities } from './types.ts';

export interface CardReplacementDeps {
  db: Pool;
  sms?: SmsSender;
}

/** The idempotency key of an outside write: the workflow id (the card's business key) and the activity id. */
function callKey(): string {
  const info = Context.current().info;
  if (!info.workflowExecution) throw new Error('card-replacement activities run inside a workflow only');
  return `${info.workflowExecution.workflowId}/${info.activityId}`;
}

/** The card office's refusals are business answers: final, under their stable code. */
function refusal(error: unknown): never {
  if (error instanceof OfficeRefusal) throw ApplicationFailure.nonRetryable(error.message, error.code);
  throw error;
}

const fen = (value: unknown) => Number(value);

export function createCardReplacementActivities(deps: CardReplacementDeps): CardReplacementActivities {
  const { db } = deps;
  const sms = deps.sms ?? createOutboxSender(db);

  return {
    async beginReplacement({ cardNo, workflowId, operatorId, reason }) {
      try {
        const answer = await beginReplacement(db, {
          cardNo,
          workflowId,
          requestKey: callKey(),
          operatorId,
          reason,
        });
        return {
          alreadyFrozen: answer.response.alreadyFrozen as boolean,
          frozenAt: answer.response.frozenAt as string,
        };
      } catch (error) {
        return refusal(error);
      }
    },

    async listReplacedCard({ cardNo }) {
      const { version, listed } = await listCard(db, { cardNo, reason: 'replaced (补卡)', priority: true });
      if (listed) await logPriorityPush(db, { version });
      return { version };
    },

    async findSilentTerminals({ cardNo, since }) {
      return { terminalIds: await silentTerminals(db, cardNo, new Date(since)) };
    },

    async transferToNewCard(input) {
      try {
        const { response } = await transferToNewCard(db, { ...input, requestKey: callKey() });
        return {
          newCardNo: response.newCardNo as string,
          mainFen: fen(response.mainFen),
          subsidyFen: fen(response.subsidyFen),
          depositFen: fen(response.depositFen),
        };
      } catch (error) {
        return refusal(error);
      }
    },

    async sendReplacementNotice({ workflowId, newCardNo, mainFen, subsidyFen }) {
      const card = await findBoundCard(db, newCardNo);
      if (!card) return { sent: false };
      await sms.send({
        idempotencyKey: callKey(),
        to: card.guardianPhone,
        workflowId,
        template: 'card_replaced',
        body:
          `【校园一卡通】${card.holderName}的补办新卡（尾号${newCardNo.slice(-4)}）已办妥，旧卡已注销，` +
          `余额${yuan(mainFen)}元、补助${yuan(subsidyFen)}元已转入新卡。请到学校卡务中心领取新卡。`,
      });
      return { sent: true };
    },
  };
}

import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from '../../core/db/pool.ts';
import { findBoundCard } from '../../core/bank/bindings.ts';
import { listCard, unlistCard } from '../../core/blacklist/entries.ts';
import { logPriorityPush } from '../../core/blacklist/distribution.ts';
import { freezeStep, unfreezeStep } from '../../core/cards/lifecycle.ts';
import { runOfficeCommand } from '../../core/cards/office-command.ts';
import { OfficeRefusal } from '../../core/keys/refusal.ts';
import type { SmsSender } from '../../core/sms/port.ts';
import { createOutboxSender } from '../../core/sms/sender.ts';
import { renderLostCardNotice } from './notice.ts';
import type { LostCardActivities } from './types.ts';

export interface LostCardDeps {
  db: Pool;
  sms?: SmsSender;
}

/**
 * The idempotency key of an outside call: the workflow id and this activity's id (the same on retries),
 * with the run id between them, since a card lost again after 解挂 runs again under the same workflow id.
 */
function callKey(): string {
  const info = Context.current().info;
  if (!info.workflowExecution) throw new Error('lost-card activities run inside a workflow only');
  const { workflowId, runId } = info.workflowExecution;
  return `${workflowId}/${runId}/${info.activityId}`;
}

/** The card office's refusals are business answers: final, under their stable code. */
function refusal(error: unknown): never {
  if (error instanceof OfficeRefusal) throw ApplicationFailure.nonRetryable(error.message, error.code);
  throw error;
}

export function createLostCardActivities(deps: LostCardDeps): LostCardActivities {
  const { db } = deps;
  const sms = deps.sms ?? createOutboxSender(db);

  return {
    async freezeLostCard({ cardNo, operatorId, reason }) {
      try {
        const answer = await runOfficeCommand(db, {
          requestKey: callKey(),
          kind: 'freeze',
          operatorId,
          content: { cardNo, reason },
          run: (ctx) => freezeStep(ctx, cardNo, reason),
        });
        return { status: 'frozen', alreadyFrozen: false, replayed: answer.replayed };
      } catch (error) {
        // Frozen at the counter before the report reached us: the card is where the report wants it.
        if (error instanceof OfficeRefusal && error.code === 'card_is_frozen')
          return { status: 'frozen', alreadyFrozen: true, replayed: false };
        return refusal(error);
      }
    },

    async publishPriorityBlacklistEntry({ cardNo, reason }) {
      const { version, listed } = await listCard(db, { cardNo, reason, priority: true });
      const pushed = listed ? await logPriorityPush(db, { version }) : { terminals: 0 };
      return { version, terminalsPushed: pushed.terminals };
    },

    async sendLostCardNotice({ workflowId, cardNo, template }) {
      const card = await findBoundCard(db, cardNo);
      if (!card) return { sent: false };
      const sent = await sms.send({
        idempotencyKey: callKey(),
        to: card.guardianPhone,
        workflowId,
        template,
        body: renderLostCardNotice(template, card.holderName),
      });
      return { sent: true, smsSid: sent.sid };
    },

    async unfreezeFoundCard({ cardNo, operatorId, reason }) {
      try {
        const answer = await runOfficeCommand(db, {
          requestKey: callKey(),
          kind: 'unfreeze',
          operatorId,
          content: { cardNo, reason },
          run: (ctx) => unfreezeStep(ctx, cardNo, reason),
        });
        return { status: 'active', replayed: answer.replayed };
      } catch (error) {
        return refusal(error);
      }
    },

    async withdrawBlacklistEntry({ cardNo, reason }) {
      const { version } = await unlistCard(db, { cardNo, reason });
      return { version };
    },
  };
}

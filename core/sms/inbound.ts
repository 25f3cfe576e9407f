import type { Pool } from '../db/pool.ts';

export type InboundOutcome =
  | 'received'
  | 'signalled'
  | 'sender_not_bound'
  | 'no_waiting_top_up'
  | 'loss_reported'
  | 'loss_report_unclear';

/** A Twilio inbound message webhook's fields that matter here, checked. */
export interface InboundSms {
  messageSid: string;
  from: string;
  to: string;
  body: string;
}

/** Checks the POST parameters of Twilio's inbound message webhook; returns the problem or the message. */
export function readInboundParams(params: Record<string, string>): InboundSms | string {
  const { MessageSid: messageSid, From: from, To: to, Body: body } = params;
  if (!messageSid || !/^(SM|MM)[0-9a-f]{32}$/.test(messageSid)) return 'MessageSid is missing or malformed';
  if (!from || !/^\+[1-9][0-9]{6,14}$/.test(from)) return 'From must be an E.164 phone number';
  if (!to) return 'To is missing';
  if (body === undefined || body.length > 1600) return 'Body is missing or longer than 1600 characters';
  return { messageSid, from, to, body };
}

/**
 * Records an inbound message once, by its MessageSid. Returns the stored row's outcome when it was there
 * already (a replayed webhook), or undefined when this call stored it.
 */
export async function recordInbound(
  db: Pool,
  sms: InboundSms,
  mode: 'twilio' | 'outbox',
): Promise<{ outcome: InboundOutcome; workflowId: string | null } | undefined> {
  const inserted = await db.query(
    `insert into sms_messages (direction, sid, mode, from_phone, to_phone, body, status, outcome)
     values ('inbound', $1, $2, $3, $4, $5, 'received', 'received') on conflict (sid) do nothing`,
    [sms.messageSid, mode, sms.from, sms.to, sms.body || ' '],
  );
  if (inserted.rowCount === 1) return undefined;
  const { rows } = await db.query<{ outcome: InboundOutcome; workflow_id: string | null }>(
    `select outcome, workflow_id from sms_messages where sid = $1`,
    [sms.messageSid],
  );
  return { outcome: rows[0]!.outcome, workflowId: rows[0]!.workflow_id };
}

export async function settleInbound(
  db: Pool,
  messageSid: string,
  outcome: InboundOutcome,
  workflowId?: string,
): Promise<void> {
  await db.query(
    `update sms_messages set outcome = $2, workflow_id = coalesce($3, workflow_id), updated_at = now() where sid = $1`,
    [messageSid, outcome, workflowId ?? null],
  );
}

/** Twilio's message statuses in the order a message goes through them; the final ones last. */
const statusOrder = ['outbox', 'accepted', 'scheduled', 'queued', 'sending', 'sent', 'receiving', 'received'];
const statusRank = (expression: string) =>
  `coalesce(array_position(array[${statusOrder.map((s) => `'${s}'`).join(', ')}]::text[], ${expression}::text), ${statusOrder.length})`;

/** A delivery status callback: kept once per (sid, status), and the message's latest status updated. */
export async function recordStatus(
  db: Pool,
  status: { sid: string; status: string; errorCode?: string },
): Promise<boolean> {
  const inserted = await db.query(
    `insert into sms_status_events (sid, status, error_code) values ($1, $2, $3) on conflict do nothing`,
    [status.sid, status.status, status.errorCode ?? null],
  );
  // Callbacks can arrive out of order: a late `sent` must not overwrite `delivered`.
  await db.query(
    `update sms_messages set status = $2, updated_at = now()
      where sid = $1 and ${statusRank('$2')} >= ${statusRank('status')}`,
    [status.sid, status.status],
  );
  return inserted.rowCount === 1;
}

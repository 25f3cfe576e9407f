// Pure: imported by the bank top-up workflow as well as the webhook, so no Node built-ins here.

/** What a parent's reply to a top-up request says. */
export type TopUpReply = { kind: 'approve'; code: string } | { kind: 'decline' } | { kind: 'unclear' };

/**
 * `Y 123456` approves with the one-time code, `N` declines; anything else is unclear (a help reply is
 * sent). Full-width letters and digits (Ｙ １２３４５６), lower case and spacing are accepted, since
 * Chinese phone keyboards produce them.
 */
export function parseTopUpReply(text: string): TopUpReply {
  const normalised = text.normalize('NFKC').trim().toUpperCase();
  const approve = /^(?:Y|YES|是)\s*([0-9]{6})$/.exec(normalised);
  if (approve) return { kind: 'approve', code: approve[1]! };
  if (/^(?:N|NO|否)$/.test(normalised)) return { kind: 'decline' };
  return { kind: 'unclear' };
}

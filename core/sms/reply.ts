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

/**
 * `挂失` reports the card bound to the sending phone lost; `挂失 1A2B` names it by the last four characters
 * of its number when the phone is bound to more than one. `GS` (the pinyin initials) is accepted too.
 */
export function parseLossReport(text: string): { cardSuffix?: string } | undefined {
  const normalised = text.normalize('NFKC').trim().toUpperCase();
  const report = /^(?:挂失|GS)\s*([0-9A-F]{4})?$/.exec(normalised);
  if (!report) return undefined;
  return report[1] ? { cardSuffix: report[1] } : {};
}

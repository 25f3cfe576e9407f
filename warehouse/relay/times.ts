/**
 * Times as the relay writes them: ClickHouse takes a DateTime64(3) as epoch milliseconds, so instants go
 * over as numbers; a Date column goes over as its 'YYYY-MM-DD' text, computed once per day and kept.
 * Tens of thousands of swipes a second pass through here, each with two instants: no Date object per value.
 */

const dayMs = 86_400_000;
const cstOffsetMs = 8 * 60 * 60 * 1000;
const dayTexts = new Map<number, string>();

/** 'YYYY-MM-DD' of the UTC day with this number since 1970. */
function dayText(day: number): string {
  let text = dayTexts.get(day);
  if (text === undefined) {
    if (dayTexts.size >= 4096) dayTexts.clear();
    text = new Date(day * dayMs).toISOString().slice(0, 10);
    dayTexts.set(day, text);
  }
  return text;
}

/** The local (UTC+8, China Standard Time) date of an instant given in epoch milliseconds. */
export const localDate = (ms: number): string => dayText(Math.floor((ms + cstOffsetMs) / dayMs));

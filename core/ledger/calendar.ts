/**
 * Business dates and times of day in China Standard Time (UTC+8, no daylight saving), where every school
 * of the district is: daily limits reset and meal periods turn at local midnight and local clock times.
 */
const offsetMs = 8 * 60 * 60 * 1000;
const dayMs = 86_400_000;
/** 'YYYY-MM-DD' by local day number: the outbox relay asks for two dates per swipe, tens of thousands a second. */
const dayTexts = new Map<number, string>();

/** The local date of an instant given in epoch milliseconds, 'YYYY-MM-DD'. */
export function businessDateOfMs(ms: number): string {
  const day = Math.floor((ms + offsetMs) / dayMs);
  let text = dayTexts.get(day);
  if (text === undefined) {
    if (dayTexts.size >= 4096) dayTexts.clear();
    text = new Date(day * dayMs).toISOString().slice(0, 10);
    dayTexts.set(day, text);
  }
  return text;
}

export function businessDate(at: Date): string {
  return businessDateOfMs(at.getTime());
}

export function minuteOfDay(at: Date): number {
  const local = new Date(at.getTime() + offsetMs);
  return local.getUTCHours() * 60 + local.getUTCMinutes();
}

export interface MealPeriod {
  periodCode: string;
  startsAtMin: number;
  endsAtMin: number;
}

/** The meal period (餐次) a purchase at this time falls in, or null between meals. */
export function mealPeriodAt(periods: readonly MealPeriod[], at: Date): string | null {
  const minute = minuteOfDay(at);
  for (const period of periods)
    if (minute >= period.startsAtMin && minute < period.endsAtMin) return period.periodCode;
  return null;
}

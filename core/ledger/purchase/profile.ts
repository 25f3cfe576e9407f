/**
 * Where a purchase batch spends its time, for the swipe benchmark: with LEDGER_PROFILE=1 the API
 * process adds up milliseconds per phase and writes one JSON line to stderr every 5 s. Off, it costs a
 * property read per phase.
 */
const enabled = process.env.LEDGER_PROFILE === '1';
const totals = new Map<string, number>();
let batches = 0;
let purchases = 0;
let timer: NodeJS.Timeout | undefined;

export interface PhaseClock {
  /** Adds the time since the last lap to this phase. */
  lap(phase: string): void;
}

const idle: PhaseClock = { lap: () => undefined };

export function startBatchClock(size: number): PhaseClock {
  if (!enabled) return idle;
  batches++;
  purchases += size;
  timer ??= setInterval(report, 5_000).unref();
  let last = performance.now();
  return {
    lap(phase) {
      const now = performance.now();
      totals.set(phase, (totals.get(phase) ?? 0) + (now - last));
      last = now;
    },
  };
}

export function addPhase(phase: string, ms: number): void {
  if (enabled) totals.set(phase, (totals.get(phase) ?? 0) + ms);
}

function report(): void {
  if (batches === 0) return;
  const perBatchMs = Object.fromEntries(
    [...totals].map(([phase, ms]) => [phase, Number((ms / batches).toFixed(2))]),
  );
  process.stderr.write(
    `${JSON.stringify({ ledgerProfile: { batches, purchasesPerBatch: Number((purchases / batches).toFixed(1)), perBatchMs } })}\n`,
  );
  totals.clear();
  batches = 0;
  purchases = 0;
}

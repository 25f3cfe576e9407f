import type { PurchaseCommand } from './types.ts';
import type { LedgerAnswer } from './execute.ts';
import { addPhase } from './profile.ts';

export class LedgerBusyError extends Error {
  override name = 'LedgerBusyError';
  readonly statusCode = 503;
  readonly code = 'ledger_is_busy';
}

/**
 * Group commit for purchases: requests that arrive while batches are being written wait and go together
 * in the next one, so under load one commit carries many purchases, and alone a purchase goes at once.
 * Each keeps its own outcome. Up to `inFlightMax` batches run at once, each in its own database
 * transaction and its own slot: slot n credits lane n of the merchants' payables, so batches in flight
 * share no payable row and commit side by side (PostgreSQL flushes their commits together). Row locks keep
 * them correct where they do meet (a card in two batches: cards, then accounts, in id order). The queue
 * is bounded: beyond it the caller is told to come back (503).
 */
export class PurchaseBatcher {
  private queue: Array<{
    command: PurchaseCommand;
    queuedAt: number;
    resolve: (a: LedgerAnswer) => void;
    reject: (e: unknown) => void;
  }> = [];
  private inFlight = 0;
  private pumpScheduled = false;
  /** Slots not running a batch; a batch takes the lowest, so a quiet API uses lane 0 only. */
  private readonly freeSlots: number[];

  constructor(
    private readonly execute: (commands: PurchaseCommand[], slot: number) => Promise<LedgerAnswer[]>,
    private readonly batchMax: number,
    private readonly queueMax: number,
    private readonly inFlightMax = 2,
  ) {
    this.freeSlots = Array.from({ length: inFlightMax }, (_, slot) => slot);
  }

  submit(command: PurchaseCommand): Promise<LedgerAnswer> {
    if (this.queue.length >= this.queueMax)
      return Promise.reject(new LedgerBusyError(`the purchase queue is full (${this.queueMax})`));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, queuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Pumps on the next turn, so requests arriving in the same turn of the event loop go together. */
  private schedule(): void {
    if (this.pumpScheduled || this.inFlight >= this.inFlightMax) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.inFlightMax && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchMax);
      const now = performance.now();
      addPhase('queueWaitMean', batch.reduce((sum, item) => sum + now - item.queuedAt, 0) / batch.length);
      this.inFlight++;
      this.freeSlots.sort((a, b) => a - b);
      void this.run(batch, this.freeSlots.shift()!);
    }
  }

  private async run(batch: PurchaseBatcher['queue'], slot: number): Promise<void> {
    try {
      const answers = await this.execute(
        batch.map((item) => item.command),
        slot,
      );
      batch.forEach((item, index) => item.resolve(answers[index]!));
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.freeSlots.push(slot);
      this.inFlight--;
      this.schedule();
    }
  }
}

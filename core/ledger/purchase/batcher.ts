import type { PurchaseCommand } from './types.ts';
import type { LedgerAnswer } from './execute.ts';

export class LedgerBusyError extends Error {
  override name = 'LedgerBusyError';
  readonly statusCode = 503;
  readonly code = 'ledger_is_busy';
}

/**
 * Group commit for purchases: requests that arrive while a batch is being written wait and go together
 * in the next one, so under load one commit carries many purchases, and alone a purchase goes at once.
 * Each keeps its own outcome. Batches run one at a time, which also keeps the hot merchant rows free of
 * lock queues. The queue is bounded: beyond it the caller is told to come back (503).
 */
export class PurchaseBatcher {
  private queue: Array<{
    command: PurchaseCommand;
    resolve: (a: LedgerAnswer) => void;
    reject: (e: unknown) => void;
  }> = [];
  private running = false;

  constructor(
    private readonly execute: (commands: PurchaseCommand[]) => Promise<LedgerAnswer[]>,
    private readonly batchMax: number,
    private readonly queueMax: number,
  ) {}

  submit(command: PurchaseCommand): Promise<LedgerAnswer> {
    if (this.queue.length >= this.queueMax)
      return Promise.reject(new LedgerBusyError(`the purchase queue is full (${this.queueMax})`));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchMax);
      try {
        const answers = await this.execute(batch.map((item) => item.command));
        batch.forEach((item, index) => item.resolve(answers[index]!));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.running = false;
  }
}

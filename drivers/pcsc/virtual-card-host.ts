import { Worker } from 'node:worker_threads';
import type { SecretKey } from '../../core/keys/secret.ts';
import type { CardFaults } from '../cpu-card/virtual-card.ts';
import type { WorkerOptions, WorkerRequest } from './virtual-card-worker.ts';

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * A virtual CPU card running in a worker thread, inserted into a vpcd slot on demand. A card answers on
 * its own, as a real one does; the test's thread only says insert, remove, "pull me out after n APDUs",
 * and asks for the purse balance.
 */
export class VirtualCardInWorker {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(
    private readonly worker: Worker,
    readonly chipSerial: Buffer,
    readonly atr: Buffer,
  ) {
    worker.on('message', (message: { id: number; result: unknown; error?: string }) => {
      const entry = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error) entry?.reject(new Error(message.error));
      else entry?.resolve(message.result);
    });
  }

  static async start(options: {
    vpcdPort: number;
    chipSerial: Buffer;
    transportKey: SecretKey;
    algorithm?: 'sm4' | '3des';
    faults?: CardFaults;
  }): Promise<VirtualCardInWorker> {
    const workerData: WorkerOptions = {
      port: options.vpcdPort,
      chipSerialHex: options.chipSerial.toString('hex'),
      transportKeyHex: options.transportKey.bytes().toString('hex'),
      algorithm: options.algorithm ?? 'sm4',
      faults: options.faults ?? {},
    };
    const worker = new Worker(new URL('./virtual-card-worker.mjs', import.meta.url), { workerData });
    const first = await new Promise<{ atrHex: string }>((resolve, reject) => {
      worker.once('message', (message: { result: { atrHex: string } }) => resolve(message.result));
      worker.once('error', reject);
    });
    worker.unref();
    return new VirtualCardInWorker(worker, options.chipSerial, Buffer.from(first.atrHex, 'hex'));
  }

  private call<T>(request: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  insert(): Promise<void> {
    return this.call({ type: 'insert' });
  }

  remove(): Promise<void> {
    return this.call({ type: 'remove' });
  }

  /** The card leaves the field when asked for its (apdus + 1)-th APDU from now. */
  removeAfterApdus(count: number): Promise<void> {
    return this.call({ type: 'removeAfterApdus', count });
  }

  state(): Promise<{ balanceFen: number; apduCount: number; inserted: boolean }> {
    return this.call({ type: 'state' });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

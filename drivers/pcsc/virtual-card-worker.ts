// The worker side of VirtualCardInWorker: one virtual CPU card in its own thread, so it keeps answering
// vpcd even while the test's main thread sits in a synchronous PC/SC call (which may wait on the card).
import { parentPort, workerData } from 'node:worker_threads';
import { SecretKey } from '../../core/keys/secret.ts';
import { VirtualCpuCard, type CardFaults } from '../cpu-card/virtual-card.ts';
import { VpcdCardSlot } from './vpcd-card.ts';

export interface WorkerOptions {
  port: number;
  chipSerialHex: string;
  transportKeyHex: string;
  algorithm: 'sm4' | '3des';
  faults: CardFaults;
}

export type WorkerRequest =
  | { id: number; type: 'insert' }
  | { id: number; type: 'remove' }
  | { id: number; type: 'removeAfterApdus'; count: number }
  | { id: number; type: 'state' };

const options = workerData as WorkerOptions;
const card = new VirtualCpuCard({
  chipSerial: Buffer.from(options.chipSerialHex, 'hex'),
  transportKey: new SecretKey(Buffer.from(options.transportKeyHex, 'hex')),
  algorithm: options.algorithm,
  faults: options.faults,
});
const slot = new VpcdCardSlot(options.port);

parentPort!.on('message', (request: WorkerRequest) => {
  const reply = (result: unknown, error?: string) =>
    parentPort!.postMessage({ id: request.id, result, error });
  switch (request.type) {
    case 'insert':
      slot.insert(card).then(
        () => reply(true),
        (error: unknown) => reply(undefined, (error as Error).message),
      );
      return;
    case 'remove':
      slot.remove();
      return reply(true);
    case 'removeAfterApdus':
      slot.removeAfterApdus = card.apduCount + request.count;
      return reply(true);
    case 'state':
      return reply({ balanceFen: card.purseBalanceFen, apduCount: card.apduCount, inserted: slot.inserted });
  }
});
parentPort!.postMessage({ id: 0, result: { atrHex: card.atr().toString('hex') } });

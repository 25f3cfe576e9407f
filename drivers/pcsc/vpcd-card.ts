import net from 'node:net';
import type { VirtualCpuCard } from '../cpu-card/virtual-card.ts';

/**
 * Puts a virtual card into a vpcd reader (vsmartcard's pcscd driver) over its socket protocol: each
 * message is a 2-byte big-endian length and a payload; a 1-byte payload is a control byte (0 power off,
 * 1 power on, 2 reset, 4 ask for the ATR), anything longer is a command APDU answered by a response APDU.
 * Connecting is inserting the card; `remove()` pulls it out.
 */
export class VpcdCardSlot {
  private socket: net.Socket | undefined;
  private buffer = Buffer.alloc(0);
  /** Pull the card out after this many APDUs (for tests of a card removed mid-issue). */
  removeAfterApdus: number | undefined;

  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
  ) {}

  /** Connects (retrying while vpcd is still starting) and answers until removed. */
  async insert(card: VirtualCpuCard, timeoutMs = 10_000): Promise<void> {
    if (this.socket) throw new Error('a card is already in this slot; remove it first');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.socket = await this.connect();
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`vpcd does not listen on ${this.host}:${this.port}: ${(error as Error).message}`, {
            cause: error,
          });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    this.buffer = Buffer.alloc(0);
    const socket = this.socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(card, socket, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
  }

  get inserted(): boolean {
    return this.socket !== undefined;
  }

  remove(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  private receive(card: VirtualCpuCard, socket: net.Socket, chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 2) {
      const length = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + length) return;
      const payload = this.buffer.subarray(2, 2 + length);
      this.buffer = this.buffer.subarray(2 + length);
      const answer = this.answer(card, payload);
      if (answer === 'removed') return;
      if (answer) socket.write(Buffer.concat([Buffer.of(answer.length >> 8, answer.length & 0xff), answer]));
    }
  }

  private answer(card: VirtualCpuCard, payload: Buffer): Buffer | undefined | 'removed' {
    if (payload.length === 1) {
      const control = payload[0];
      if (control === 0 || control === 1 || control === 2) card.reset();
      return control === 4 ? card.atr() : undefined;
    }
    if (this.removeAfterApdus !== undefined && card.apduCount >= this.removeAfterApdus) {
      this.removeAfterApdus = undefined;
      this.remove();
      return 'removed';
    }
    return card.process(payload);
  }
}

import type { CardInterface, ContextInterface } from 'smartcard';
import { OfficeRefusal } from '../../core/keys/refusal.ts';
import { swNames } from '../cpu-card/apdu.ts';

/** What the card office needs from a reader with a card in it. */
export interface CardChannel {
  readonly readerName: string;
  readonly atr: Buffer;
  /** Sends a command APDU; returns the data and status word, or throws card_was_removed. */
  transmit(apdu: Buffer): Promise<{ data: Buffer; sw: number }>;
  close(): void;
}

type Smartcard = typeof import('smartcard');
let binding: Smartcard | undefined;

/** Loaded on first use, so PCSCLITE_CSOCK_NAME set by a private pcscd is seen by libpcsclite. */
async function smartcard(): Promise<Smartcard> {
  binding ??= (await import('smartcard')) as Smartcard;
  return binding;
}

export async function listReaders(): Promise<
  Array<{ name: string; cardPresent: boolean; atr: Buffer | null }>
> {
  const pcsc = await smartcard();
  let context;
  try {
    context = new pcsc.Context();
  } catch (error) {
    throw new OfficeRefusal('reader_not_found', `PC/SC is not available: ${(error as Error).message}`);
  }
  try {
    return context.listReaders().map((r) => ({
      name: r.name,
      cardPresent: (r.state & pcsc.SCARD_STATE_PRESENT) !== 0,
      atr: r.atr ?? null,
    }));
  } finally {
    context.close();
  }
}

/**
 * Waits (up to timeoutMs) for a card in the named reader (or the first reader that has one) and connects.
 * PC/SC errors become the card office's refusals: no reader, no card, card removed.
 */
export async function connectCard(
  options: { readerName?: string; timeoutMs?: number } = {},
): Promise<CardChannel> {
  const pcsc = await smartcard();
  let context: ContextInterface;
  try {
    context = new pcsc.Context();
  } catch (error) {
    throw new OfficeRefusal('reader_not_found', `PC/SC is not available: ${(error as Error).message}`);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  try {
    for (;;) {
      const readers = context.listReaders();
      if (
        options.readerName &&
        !readers.some((r) => r.name.startsWith(options.readerName!)) &&
        Date.now() > deadline
      )
        throw new OfficeRefusal(
          'reader_not_found',
          `no reader named ${options.readerName}; readers: ${readers.map((r) => r.name).join(', ') || 'none'}`,
        );
      const reader = readers.find(
        (r) =>
          (!options.readerName || r.name.startsWith(options.readerName)) &&
          (r.state & pcsc.SCARD_STATE_PRESENT) !== 0,
      );
      if (reader) {
        const card = await reader.connect(
          pcsc.SCARD_SHARE_SHARED,
          pcsc.SCARD_PROTOCOL_T0 | pcsc.SCARD_PROTOCOL_T1,
        );
        return channel(reader.name, card, context, pcsc.SCARD_LEAVE_CARD);
      }
      if (Date.now() > deadline)
        throw new OfficeRefusal(
          readers.length === 0 ? 'reader_not_found' : 'card_was_removed',
          readers.length === 0
            ? 'no PC/SC reader is attached'
            : 'no card was presented to the reader in time',
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    context.close();
    if (error instanceof OfficeRefusal) throw error;
    throw new OfficeRefusal('card_was_removed', `cannot connect to the card: ${(error as Error).message}`);
  }
}

function channel(
  readerName: string,
  typed: CardInterface,
  context: ContextInterface,
  leaveCard: number,
): CardChannel {
  return {
    readerName,
    atr: Buffer.from(typed.atr ?? Buffer.alloc(0)),
    async transmit(apdu) {
      let answer: Buffer;
      try {
        answer = await typed.transmit(apdu, { maxRecvLength: 260 });
      } catch (error) {
        throw new OfficeRefusal(
          'card_was_removed',
          `the card did not answer (removed?): ${(error as Error).message}`,
        );
      }
      // vpcd (and some readers) answer nothing at all when the card left the field mid-command.
      if (answer.length === 0)
        throw new OfficeRefusal('card_was_removed', 'the card did not answer: it was removed');
      if (answer.length < 2)
        throw new OfficeRefusal(
          'card_response_is_malformed',
          `a response of ${answer.length} bytes has no status word`,
        );
      return {
        data: answer.subarray(0, answer.length - 2),
        sw: answer.readUInt16BE(answer.length - 2),
      };
    },
    close() {
      try {
        // Leave the card powered: a reset would make pcscd ask the card for its ATR again.
        typed.disconnect(leaveCard);
      } catch {
        // already gone with the card
      }
      context.close();
    },
  };
}

export function describeSw(sw: number): string {
  return `${sw.toString(16).toUpperCase().padStart(4, '0')} (${swNames[sw] ?? 'unknown status'})`;
}

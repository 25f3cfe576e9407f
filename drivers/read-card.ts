// `npx tsx drivers/read-card.ts [--reader NAME] [--wait-ms N]`: reads whatever card is on a PC/SC reader.
// A one-card CPU card shows its chip serial, life cycle, basic data and purse balance; any other card
// shows its ATR. Uses the system pcscd, or the one PCSCLITE_CSOCK_NAME points at. Never prints keys.
import { parseArgs } from 'node:util';
import { OfficeRefusal } from '../core/keys/refusal.ts';
import { OneCardSession } from './cpu-card/session.ts';
import { connectCard, listReaders } from './pcsc/reader.ts';

export async function readCard(options: {
  reader?: string;
  waitMs?: number;
}): Promise<Record<string, unknown>> {
  const readers = await listReaders();
  const channel = await connectCard({ readerName: options.reader, timeoutMs: options.waitMs ?? 5_000 });
  try {
    const result: Record<string, unknown> = {
      readers: readers.map((r) => r.name),
      reader: channel.readerName,
      atr: channel.atr.toString('hex').toUpperCase(),
    };
    let session: OneCardSession;
    try {
      session = await OneCardSession.open(channel);
    } catch (error) {
      if (error instanceof OfficeRefusal && error.code === 'card_is_unknown')
        return { ...result, oneCard: false, note: error.message };
      throw error;
    }
    const chip = await session.chipInfo();
    Object.assign(result, { oneCard: true, ...chip });
    if (chip.lifecycle === 'personalised')
      Object.assign(result, {
        basic: await session.readBasic(),
        balanceFen: String(await session.balanceFen()),
      });
    return result;
  } finally {
    channel.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { reader: { type: 'string' }, 'wait-ms': { type: 'string' } },
  });
  const waitMs = values['wait-ms'] === undefined ? undefined : Number(values['wait-ms']);
  if (waitMs !== undefined && (!Number.isInteger(waitMs) || waitMs < 0)) {
    process.stderr.write(`--wait-ms must be a whole number of milliseconds, got "${values['wait-ms']}"\n`);
    return 2;
  }
  try {
    process.stdout.write(`${JSON.stringify(await readCard({ reader: values.reader, waitMs }), null, 2)}\n`);
    return 0;
  } catch (error) {
    const code = error instanceof OfficeRefusal ? error.code : 'error';
    process.stderr.write(`read-card: ${code}: ${(error as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => process.exit(code));

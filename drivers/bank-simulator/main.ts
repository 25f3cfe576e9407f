// The bank simulator as its own process: `node --import tsx drivers/bank-simulator/main.ts`.
// Settings from the environment: BANK_SIM_PORT (0 = any free port), BANK_SIM_HOST, BANK_API_KEY,
// BANK_CALLBACK_SECRET (both required; the same values our gateway and API are given), and
// BANK_SIM_CALLBACK_URL (where events go when a request names none). Its books live in memory.
import { createProcessLogger } from '../../core/log.ts';
import { announceReady, onShutdown } from '../../system/lifeline.ts';
import { startBankSimulator } from './server.ts';

const log = createProcessLogger('bank');
const apiKey = process.env.BANK_API_KEY;
const callbackSecret = process.env.BANK_CALLBACK_SECRET;
if (!apiKey || !callbackSecret) {
  log.fatal('bank simulator: set BANK_API_KEY and BANK_CALLBACK_SECRET');
  process.exit(2);
}

const simulator = await startBankSimulator(
  {
    apiKey,
    callbackSecret,
    defaultCallbackUrl: process.env.BANK_SIM_CALLBACK_URL || undefined,
    log: (line) => log.info(line),
  },
  Number(process.env.BANK_SIM_PORT ?? 0),
  process.env.BANK_SIM_HOST ?? '127.0.0.1',
);
onShutdown(async () => simulator.close());
log.info(`bank simulator listening on ${simulator.url}`);
announceReady({ url: simulator.url });

import type { PlatformConfig } from '../config.ts';
import { createHttpBankGateway } from './http-gateway.ts';
import type { BankGateway } from './port.ts';

export const bankCallbackPath = '/api/bank/callbacks';

/** The bank gateway when BANK_GATEWAY_URL and BANK_API_KEY are set (the simulator locally). */
export function bankGatewayFromConfig(config: PlatformConfig): BankGateway | undefined {
  if (!config.BANK_GATEWAY_URL || !config.BANK_API_KEY) return undefined;
  return createHttpBankGateway({
    baseUrl: config.BANK_GATEWAY_URL,
    apiKey: config.BANK_API_KEY,
    callbackUrl: config.PUBLIC_BASE_URL
      ? new URL(bankCallbackPath, config.PUBLIC_BASE_URL).toString()
      : undefined,
  });
}

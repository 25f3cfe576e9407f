import { inject } from 'vitest';
import type { ApiConfig } from '../../api/plugins/components.ts';

/** The shared stack's URLs, as the API and the worker would read them from their environment. */
export function stackConfig(): ApiConfig & { varDir: string } {
  const stack = inject('stack');
  process.env.ONECARD_VAR_DIR = stack.varDir;
  process.env.ONECARD_LOG_STDOUT = '0';
  return {
    DATABASE_URL: stack.DATABASE_URL,
    TEMPORAL_ADDRESS: stack.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: stack.TEMPORAL_NAMESPACE,
    TEMPORAL_UI_URL: stack.TEMPORAL_UI_URL,
    CLICKHOUSE_URL: stack.CLICKHOUSE_URL,
    API_HOST: '127.0.0.1',
    API_PORT: 0,
    LOG_LEVEL: 'warn',
    varDir: stack.varDir,
  };
}

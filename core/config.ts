import envSchema from 'env-schema';

/**
 * Every process reads its settings from the environment and checks them here at start-up, so a wrong or
 * missing variable is named before anything starts. The launcher fills these in for the embedded system;
 * setting one by hand points that part at a production instance.
 */
const schema = {
  type: 'object',
  properties: {
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    TEMPORAL_ADDRESS: { type: 'string', pattern: '^[^\\s/:]+:[0-9]+$' },
    TEMPORAL_NAMESPACE: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
    TEMPORAL_TASK_QUEUE: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
    TEMPORAL_UI_URL: { type: 'string', pattern: '^https?://' },
    CLICKHOUSE_URL: { type: 'string', pattern: '^https?://' },
    API_HOST: { type: 'string', default: '127.0.0.1' },
    API_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 8080 },
    // SMS through Twilio when all three are set; otherwise the outbox in PostgreSQL (core/sms).
    TWILIO_ACCOUNT_SID: { type: 'string', pattern: '^AC[0-9a-fA-F]{32}$' },
    TWILIO_AUTH_TOKEN: { type: 'string', minLength: 16 },
    TWILIO_FROM: { type: 'string', pattern: '^(\\+[1-9][0-9]{6,14}|MG[0-9a-fA-F]{32})$' },
    // The API's address as Twilio and the bank reach it; their signatures cover it.
    PUBLIC_BASE_URL: { type: 'string', pattern: '^https?://' },
    BANK_GATEWAY_URL: { type: 'string', pattern: '^https?://' },
    BANK_API_KEY: { type: 'string', minLength: 16 },
    BANK_CALLBACK_SECRET: { type: 'string', minLength: 16 },
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
      default: 'info',
    },
  },
} as const;

export interface PlatformConfig {
  DATABASE_URL?: string;
  TEMPORAL_ADDRESS?: string;
  TEMPORAL_NAMESPACE?: string;
  TEMPORAL_TASK_QUEUE?: string;
  TEMPORAL_UI_URL?: string;
  CLICKHOUSE_URL?: string;
  TWILIO_ACCOUNT_SID?: string;
  TWILIO_AUTH_TOKEN?: string;
  TWILIO_FROM?: string;
  PUBLIC_BASE_URL?: string;
  BANK_GATEWAY_URL?: string;
  BANK_API_KEY?: string;
  BANK_CALLBACK_SECRET?: string;
  API_HOST: string;
  API_PORT: number;
  LOG_LEVEL: string;
}

export type RequiredSetting = 'DATABASE_URL' | 'TEMPORAL_ADDRESS' | 'CLICKHOUSE_URL';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and checks the environment; `required` lists what this process cannot start without. */
export function loadConfig(
  required: readonly RequiredSetting[] = [],
  env: NodeJS.ProcessEnv = process.env,
): PlatformConfig & Required<Pick<PlatformConfig, RequiredSetting>> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties))
    if (env[key] !== undefined && env[key] !== '') data[key] = env[key];
  let config: PlatformConfig;
  try {
    config = envSchema<PlatformConfig>({
      schema: { ...schema, required: [...required] },
      data,
      dotenv: false,
    });
  } catch (error) {
    // Ajv's message names the variable ("must have required property 'DATABASE_URL'"); say what to do.
    throw new ConfigError(
      `configuration: ${(error as Error).message}. Set it in the environment, or start with npm start.`,
    );
  }
  return config as PlatformConfig & Required<Pick<PlatformConfig, RequiredSetting>>;
}

/** A URL fit for a log line or a terminal: the password (if any) replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from '../../core/config.ts';
import { readTemporalSettings } from '../../core/temporal-settings.ts';

describe('configuration is checked at start-up', () => {
  test('fills in the defaults', () => {
    expect(loadConfig([], {})).toMatchObject({ API_HOST: '127.0.0.1', API_PORT: 8080, LOG_LEVEL: 'info' });
  });

  test.each([
    [['DATABASE_URL'], {}, "must have required property 'DATABASE_URL'"],
    [[], { API_PORT: 'eighty' }, 'API_PORT must be integer'],
    [[], { API_PORT: '70000' }, 'API_PORT must be <= 65535'],
    [[], { DATABASE_URL: 'mysql://db/onecard' }, 'DATABASE_URL must match pattern'],
    [[], { TEMPORAL_ADDRESS: 'http://temporal:7233' }, 'TEMPORAL_ADDRESS must match pattern'],
    [[], { CLICKHOUSE_URL: 'clickhouse:8123' }, 'CLICKHOUSE_URL must match pattern'],
    [[], { LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be equal to one of the allowed values'],
  ] as const)('refuses %j %j, naming the variable', (required, env, message) => {
    expect(() => loadConfig(required, env)).toThrow(ConfigError);
    expect(() => loadConfig(required, env)).toThrow(message);
  });

  test('an empty variable counts as unset', () => {
    expect(loadConfig([], { API_PORT: '' }).API_PORT).toBe(8080);
  });

  test('passwords never reach a printed URL', () => {
    expect(redactUrl('postgres://postgres:s3cret@127.0.0.1:5433/onecard')).toBe(
      'postgres://postgres:***@127.0.0.1:5433/onecard',
    );
    expect(redactUrl('not a url')).not.toContain('not a url');
  });

  test('temporal.yaml names the namespace, task queue and search attributes', () => {
    const settings = readTemporalSettings();
    expect(settings.namespace).toBe('onecard');
    expect(settings.taskQueue).toBe('onecard-main');
    expect(settings.searchAttributes).toMatchObject({
      CardNo: 'Keyword',
      SchoolId: 'Keyword',
      MerchantId: 'Keyword',
    });
    expect(settings.cli.version).toBe('v1.5.1');
  });
});

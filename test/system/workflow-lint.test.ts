import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../core/paths.ts';

// Workflow code runs in Temporal's deterministic sandbox: the lint rule is what keeps it there.
describe('the lint rule for workflow code', () => {
  // Type-aware rules need a file the TypeScript project can see, so the probe is written for a moment.
  const lint = async (code: string, file: string) => {
    const probe = path.join(repoRoot, file);
    fs.writeFileSync(probe, code);
    try {
      const [result] = await new ESLint({ cwd: repoRoot }).lintFiles([probe]);
      return result!.messages.map((message) => message.ruleId);
    } finally {
      fs.rmSync(probe, { force: true });
    }
  };
  const code = [
    "import fs from 'node:fs';",
    "import { sleep } from '@temporalio/workflow';",
    'export async function probe(): Promise<void> {',
    '  sleep(1000);',
    "  fs.readFileSync('x');",
    '}',
    '',
  ].join('\n');

  test('refuses Node built-ins and floating promises in workflows/', async () => {
    expect(await lint(code, 'workflows/self-check/lint-probe.ts')).toEqual(
      expect.arrayContaining(['no-restricted-imports', '@typescript-eslint/no-floating-promises']),
    );
  }, 60_000);

  test('allows Node built-ins in activities/, where they belong', async () => {
    expect(await lint(code, 'activities/self-check/lint-probe.ts')).not.toContain('no-restricted-imports');
  }, 60_000);
});

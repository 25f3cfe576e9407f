import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './paths.ts';

export interface TemporalSettings {
  cli: { module: string; version: string };
  devServer: { ip: string; port: number; uiPort: number; dbFile: string; logLevel: string };
  namespace: string;
  taskQueue: string;
  searchAttributes: Record<
    string,
    'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'
  >;
  dynamicConfig: Record<string, unknown>;
}

/** temporal.yaml is the one place that names the namespace, task queue and search attributes. */
export function readTemporalSettings(file = path.join(repoRoot, 'temporal.yaml')): TemporalSettings {
  const settings = parse(fs.readFileSync(file, 'utf8')) as TemporalSettings;
  for (const key of [
    'cli',
    'devServer',
    'namespace',
    'taskQueue',
    'searchAttributes',
    'dynamicConfig',
  ] as const) {
    if (settings[key] === undefined) throw new Error(`temporal.yaml: missing "${key}"`);
  }
  return settings;
}

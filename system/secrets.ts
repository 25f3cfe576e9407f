import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface EmbeddedSecrets {
  postgresPassword: string;
  warehouseSystemPassword: string;
  warehouseAnalystPassword: string;
  bankApiKey: string;
  bankCallbackSecret: string;
}

/**
 * Passwords for the embedded components, made once per var/ folder and kept beside the data they guard
 * (mode 0600, git-ignored), never printed. Production passwords come in through the URLs instead.
 */
export function loadOrCreateSecrets(varDir: string): EmbeddedSecrets {
  const file = path.join(varDir, 'secrets.json');
  const existing = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<EmbeddedSecrets>)
    : {};
  const make = () => crypto.randomBytes(18).toString('base64url');
  // A folder made by an older version lacks the newer secrets: keep the old ones, add the missing.
  const secrets: EmbeddedSecrets = {
    postgresPassword: existing.postgresPassword ?? make(),
    warehouseSystemPassword: existing.warehouseSystemPassword ?? make(),
    warehouseAnalystPassword: existing.warehouseAnalystPassword ?? make(),
    bankApiKey: existing.bankApiKey ?? make(),
    bankCallbackSecret: existing.bankCallbackSecret ?? make(),
  };
  if (Object.keys(existing).length !== Object.keys(secrets).length) {
    fs.mkdirSync(varDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

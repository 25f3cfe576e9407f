import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface EmbeddedSecrets {
  postgresPassword: string;
  warehouseSystemPassword: string;
  warehouseAnalystPassword: string;
}

/**
 * Passwords for the embedded components, made once per var/ folder and kept beside the data they guard
 * (mode 0600, git-ignored), never printed. Production passwords come in through the URLs instead.
 */
export function loadOrCreateSecrets(varDir: string): EmbeddedSecrets {
  const file = path.join(varDir, 'secrets.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as EmbeddedSecrets;
  const make = () => crypto.randomBytes(18).toString('base64url');
  const secrets: EmbeddedSecrets = {
    postgresPassword: make(),
    warehouseSystemPassword: make(),
    warehouseAnalystPassword: make(),
  };
  fs.mkdirSync(varDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { varPath } from '../../core/paths.ts';
import { assertPortFree, freePort } from '../../system/ports.ts';

export interface PrivatePcscd {
  /** The client socket; PCSCLITE_CSOCK_NAME points libpcsclite at it. */
  socketPath: string;
  /** vpcd's first slot listens here (the second on port + 1). */
  vpcdPort: number;
  readerName: string;
  stop(): Promise<void>;
}

/**
 * Debian's pcscd, private to this process: its own reader.conf.d (a vpcd reader on a free port), and its
 * client socket in a folder of our own, handed to it by systemd-style socket activation (LISTEN_FDS), so
 * it never touches /run/pcscd/pcscd.comm, the system daemon, or another agent's instance. It exits with
 * us: stop() kills it, an exit hook kills it, and --auto-exit ends it 60 s after its last client.
 */
export async function startPrivatePcscd(
  options: { pcscdPath?: string; log?: (line: string) => void } = {},
): Promise<PrivatePcscd> {
  const pcscd = options.pcscdPath ?? '/usr/sbin/pcscd';
  if (!fs.existsSync(pcscd))
    throw new Error(`${pcscd} is missing: install Debian's pcscd and vsmartcard-vpcd (npm test does so)`);
  const driver = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
  if (!fs.existsSync(driver)) throw new Error(`${driver} is missing: install Debian's vsmartcard-vpcd`);

  const vpcdPort = await twoFreePorts();
  const dir = varPath('pcsc', `pcscd-${process.pid}-${randomBytes(3).toString('hex')}`);
  const confDir = path.join(dir, 'reader.conf.d');
  fs.mkdirSync(confDir, { recursive: true });
  const readerName = 'Onecard Virtual PCD';
  fs.writeFileSync(
    path.join(confDir, 'vpcd'),
    `FRIENDLYNAME "${readerName}"\nDEVICENAME   /dev/null:0x${vpcdPort.toString(16)}\nLIBPATH      ${driver}\nCHANNELID    0x${vpcdPort.toString(16)}\n`,
  );

  // libuv unlinks a Unix socket's path when the server closes; a hard link keeps the socket reachable
  // for clients after we hand the listening descriptor to pcscd and close our copy.
  const listenPath = path.join(dir, 'listen.comm');
  const socketPath = path.join(dir, 'pcscd.comm');
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPath, resolve);
  });
  fs.linkSync(listenPath, socketPath);
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const child: ChildProcess = spawn(
    'sh',
    ['-c', `LISTEN_PID=$$ LISTEN_FDS=1 exec ${pcscd} --foreground --auto-exit --error --config ${confDir}`],
    { stdio: ['ignore', 'pipe', 'pipe', fd] },
  );
  server.close();
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      output.push(line);
      options.log?.(line);
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(vpcdPort, child, output);
  process.env.PCSCLITE_CSOCK_NAME = socketPath;

  return {
    socketPath,
    vpcdPort,
    readerName,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** vpcd opens one port per slot: port and port + 1. */
async function twoFreePorts(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (port >= 65535) continue;
    try {
      await assertPortFree('127.0.0.1', port + 1, 'vpcd slot 1', '-');
      return port;
    } catch {
      // taken: try another pair
    }
  }
  throw new Error('found no two adjacent free ports for vpcd');
}

async function waitForPort(port: number, child: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `pcscd exited with ${child.exitCode} before vpcd listened: ${output.slice(-5).join(' | ')}`,
      );
    if (isListening(port)) return;
    if (Date.now() > deadline) throw new Error(`vpcd did not open port ${port} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether something listens on a TCP port, from /proc/net (probing by connecting would insert a card). */
function isListening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A') return true;
    }
  }
  return false;
}

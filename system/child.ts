import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { repoRoot } from '../core/paths.ts';

/** Where a child's output goes: the launcher prefixes it with the process name. */
export type LineSink = (processName: string, line: string) => void;

export interface ChildSpec {
  name: string;
  /** A TypeScript entry under the repository, run by this Node with tsx. */
  entry: string;
  /** Node and V8 flags of this process, on its command line before the entry. */
  nodeFlags?: readonly string[];
  env: Record<string, string>;
  /** Resolves once the component answers; rejects with a message that names what went wrong. */
  ready: (child: ManagedChild, signal: AbortSignal) => Promise<void>;
  readyTimeoutMs: number;
  stopTimeoutMs?: number;
  /** Told the pid as soon as the process exists, before it is ready (the launcher's lock records it). */
  onSpawn?: (pid: number) => void;
}

export interface ManagedChild {
  name: string;
  pid: number;
  process: ChildProcess;
  /** Resolves with the exit code when the process ends, for whatever reason. */
  exited: Promise<number | null>;
  /** Messages sent by the child over IPC ({ type: 'ready', ... } and the like). */
  nextMessage(type: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts one component as its own process group, so a Ctrl-C in the terminal reaches only the launcher,
 * which then stops the components in order. The IPC channel doubles as a lifeline: every entry exits
 * when its parent disappears, so a killed launcher leaves no orphan behind.
 */
export async function startChild(spec: ChildSpec, sink: LineSink): Promise<ManagedChild> {
  const child = spawn(process.execPath, [...(spec.nodeFlags ?? []), '--import', 'tsx', spec.entry], {
    cwd: repoRoot,
    env: { ...process.env, ...spec.env, ONECARD_SUPERVISED: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  if (child.pid) spec.onSpawn?.(child.pid);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) readline.createInterface({ input: stream }).on('line', (line) => sink(spec.name, line));
  }
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`${spec.name}: could not start (${error.message})`))),
  );
  const managed: ManagedChild = {
    name: spec.name,
    pid: child.pid ?? -1,
    process: child,
    exited,
    nextMessage: (type) =>
      new Promise((resolve) => {
        const onMessage = (message: unknown) => {
          if (message && typeof message === 'object' && (message as { type?: string }).type === type) {
            child.off('message', onMessage);
            resolve(message as Record<string, unknown>);
          }
        };
        child.on('message', onMessage);
      }),
    stop: () => stopChild(child, exited, spec.stopTimeoutMs ?? 15_000),
  };
  const diedEarly = exited.then((code) => {
    throw new Error(`${spec.name} exited with code ${code} while starting; see var/log/${spec.name}.log`);
  });
  const giveUp = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${spec.name} did not become ready within ${spec.readyTimeoutMs / 1000} s`)),
      spec.readyTimeoutMs,
    );
  });
  try {
    await Promise.race([spec.ready(managed, giveUp.signal), diedEarly, spawnError, timeout]);
  } catch (error) {
    await managed.stop();
    throw error;
  } finally {
    giveUp.abort();
    clearTimeout(timer);
    diedEarly.catch(() => undefined);
    spawnError.catch(() => undefined);
  }
  return managed;
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (tooSlow) {
    signalGroup(child, 'SIGKILL');
    await exited;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // The negative pid addresses the whole group: the component and anything it spawned.
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Polls `probe` until it resolves, or until `signal` says to give up. */
export async function pollUntil(
  probe: () => Promise<unknown>,
  signal: AbortSignal,
  intervalMs = 200,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await probe();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

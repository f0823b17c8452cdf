import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  /** the first start's setup link token, when the server printed one */
  setupToken: string | null;
}

/**
 * Starts the real server as its own process (as `npm start` or the image would), on a random port of
 * 127.0.0.1, and resolves once it listens and has printed its start-up lines. `args` is what node runs:
 * `['--import', 'tsx', 'server/main.ts']` from the checkout, `['server/main.js']` in a compiled tree.
 */
export function startServerProcess(cwd: string, args: string[], dataDir: string): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_PORT: '0', HEIRLOOM_HOST: '127.0.0.1', HEIRLOOM_KDF_MEM_MIB: '64', HEIRLOOM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const port = /\(port (\d+)\)/.exec(out);
      if (port && out.endsWith('\n\n')) {
        resolve({ proc, url: `http://127.0.0.1:${port[1]}`, setupToken: /\/register#([\w-]+)/.exec(out)?.[1] ?? null });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${out}`)));
  });
}

/** Stops a server process with SIGTERM, as docker stop does, and waits until it has exited. */
export async function stopServerProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

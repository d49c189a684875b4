// The built command (dist/cli.mjs, built once a run by build-once.ts) in a child process, for every CLI test: the
// environment and the spawn wrappers in one place. Each test file's runs get a tuning folder (WEBGPU_ATTENTION_TUNE_DIR)
// and a HOME of their own under the system's temporary folder, so no run reads or writes the user's ~/.cache or home.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../../scripts/build.mjs';

/** The bundle the installed command loads (scripts/build.mjs writes it). */
export const CLI = join(root, 'dist/cli.mjs');

/** This test file's tuning folder: fresh, never the user's. */
export const tuneDir = mkdtempSync(join(tmpdir(), 'wa-tune-'));
const home = mkdtempSync(join(tmpdir(), 'wa-home-'));

/**
 * The command's environment: this file's tune folder and HOME; Mesa's shader cache where vitest.config.ts puts it
 * (kept warm between runs, outside HOME); `extra` last.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? join(tmpdir(), 'webgpu-attention-test-cache'),
    HOME: home,
    WEBGPU_ATTENTION_TUNE_DIR: tuneDir,
    ...extra,
  };
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** Where the child's stdout goes: piped back (default) or a file descriptor. */
  stdout?: number | 'pipe';
}

/** Runs the command to completion. */
export function runCli(args: string[], options: CliOptions = {}): CliResult {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: cliEnv(options.env),
    input: options.input,
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 << 20,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', options.stdout ?? 'pipe', 'pipe'],
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: performance.now() - started };
}

/** `runCli` with the arguments spread. */
export const cli = (...args: string[]): CliResult => runCli(args);

/** Starts the command and returns the child, for tests that signal it or read it while it runs. */
export function spawnCli(args: string[], options: { env?: Record<string, string> } = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { env: cliEnv(options.env) });
}

/** Runs `script` in bash, where the shell function `cli` runs the command, for pipes and ulimits. */
export function runCliShell(script: string, options: { timeoutMs?: number } = {}): CliResult {
  const started = performance.now();
  const r = spawnSync('bash', ['-c', `cli() { "$CLI_NODE" "$CLI_JS" "$@"; }\n${script}`], {
    encoding: 'utf8',
    env: cliEnv({ CLI_NODE: process.execPath, CLI_JS: CLI }),
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: performance.now() - started };
}

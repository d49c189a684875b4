// The parent's side of the onnxruntime-webgpu peer: a child process (ort-child.ts) that can be killed when a
// request runs past its timeout. A timed-out request is reported as PeerTimeoutError; the next request
// starts a fresh child. Its stdout is forwarded to our stderr, so `--json` keeps stdout for the JSON.

import { fork, type ChildProcess } from 'node:child_process';
import type { OpCase } from '../inputs.js';
import type { OrtHello, OrtReply, OrtRequest } from './ort-child.js';
import { PeerTimeoutError } from './timeout.js';
import type { PeerResult, PeerRunOpts } from './types.js';

export class OrtRemote {
  private child: ChildProcess | null = null;
  private ready: Promise<string> | null = null;
  private nextId = 1;
  description = 'onnxruntime-webgpu (not started)';

  /** `script`: the bundled ort-child.mjs; `timeoutMs`: per request, and for starting. */
  constructor(private readonly script: URL, private readonly timeoutMs: number) {}

  /** Starts the child (if not running) and resolves with its description once ORT has loaded. */
  start(): Promise<string> {
    if (this.ready) return this.ready;
    const child = fork(this.script, [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    child.stdout?.pipe(process.stderr);
    this.child = child;
    this.ready = this.expect<OrtHello>(child, (m): m is OrtHello => 'ready' in m, 'starting onnxruntime-node').then((hello) => {
      if (!hello.ready) throw new Error(hello.error);
      this.description = hello.description;
      return hello.description;
    });
    this.ready.catch(() => this.kill());
    return this.ready;
  }

  async run(c: OpCase, seed: number, opts: PeerRunOpts): Promise<PeerResult> {
    await this.start();
    const child = this.child!;
    const req: OrtRequest = { id: this.nextId++, case: c, seed, warmup: opts.warmup, runs: opts.runs, sample: opts.sample, precision: opts.precision };
    const reply = this.expect<OrtReply>(child, (m): m is OrtReply => 'id' in m && (m as OrtReply).id === req.id, `onnxruntime-webgpu ${c.op}${opts.precision === 'f16' ? ' f16' : ''}`);
    child.send(req);
    const r = await reply;
    if (!r.ok) throw new Error(r.error);
    return r.result;
  }

  /** Waits for one message matching `is`; rejects on timeout (killing the child), exit or error. */
  private expect<T>(child: ChildProcess, is: (m: object) => m is T & object, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      const onMessage = (m: object) => {
        if (is(m)) {
          done();
          resolve(m);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        this.kill();
        reject(new Error(`${what}: the onnxruntime child process exited (${signal ?? `code ${code}`})`));
      };
      const onError = (e: Error) => {
        done();
        this.kill();
        reject(e);
      };
      const timer = setTimeout(() => {
        done();
        this.kill();
        reject(new PeerTimeoutError(what, this.timeoutMs));
      }, this.timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  /** Kills the child (SIGKILL: a hung native call ignores everything else). */
  kill(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.child = null;
    this.ready = null;
  }

  /** Ends the child politely (it exits on disconnect), or kills it if it does not within a second. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    this.ready = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 1000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.disconnect();
    });
  }
}

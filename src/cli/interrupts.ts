// SIGINT and SIGTERM during a run: the first one asks the run (and the verification) to stop
// after the current step, so what is reported is what ran; a second SIGINT quits at once.
// Exit codes follow the shell's convention, 128 + the signal number. A stdout that can no longer
// be written (the reader of `| head` gone, a full disk) stops the run the same way (stdout.ts),
// since nothing it prints from then on can arrive: exit STDOUT_FAILED_EXIT.

import { STDOUT_FAILED_EXIT } from './stdout.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';
/** What stopped a run early: a signal, or stdout failing. */
export type StopReason = StopSignal | 'stdout';
export const STOP_EXIT: Record<StopReason, number> = { SIGINT: 130, SIGTERM: 143, stdout: STDOUT_FAILED_EXIT };
/** How a report names the stop: `interrupted (SIGINT)`, `stopped (stdout failed)`. */
export const describeStop = (r: StopReason): string => (r === 'stdout' ? 'stopped (stdout could not be written)' : `interrupted (${r})`);

export interface Interrupts {
  /** Aborted on the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /**
   * A signal aborted by the next SIGINT or SIGTERM from now on: after an interrupted stack, the
   * layers that ran are still verified, and a further signal stops that too.
   */
  next(): AbortSignal;
  /** What stopped the run, or null. */
  readonly received: StopReason | null;
  /** Stops the run after the current step, as a first signal does, for `reason` (stdout failing). */
  stop(reason: 'stdout', why: string): void;
  dispose(): void;
}

/**
 * `onQuit` runs before a second SIGINT ends the process at once (the --json report's last word:
 * stdout promises one JSON object on every exit path); it must be synchronous.
 */
export function watchInterrupts(describeStep: () => string, onQuit?: (message: string) => void): Interrupts {
  const abort = new AbortController();
  let current = abort;
  let received: StopReason | null = null;
  const on = (sig: StopSignal) => () => {
    if (current.signal.aborted) {
      if (sig === 'SIGINT') {
        process.stderr.write('\ninterrupted again: quitting now\n');
        onQuit?.(`interrupted twice (SIGINT) during: ${describeStep()}; quit without a report`);
        process.exit(STOP_EXIT.SIGINT);
      }
      return;
    }
    received ??= sig;
    process.stderr.write(`\n${sig}: stopping after the current step (${describeStep()})${sig === 'SIGINT' ? '; Ctrl-C again to quit now' : ''}\n`);
    current.abort();
  };
  const onInt = on('SIGINT');
  const onTerm = on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: abort.signal,
    next() {
      current = new AbortController();
      return current.signal;
    },
    get received() {
      return received;
    },
    stop(reason, why) {
      if (current.signal.aborted) return;
      received ??= reason;
      process.stderr.write(`\nstdout failed (${why}): stopping after the current step (${describeStep()})\n`);
      current.abort();
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

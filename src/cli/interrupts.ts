// SIGINT and SIGTERM during a run: the first one asks the run (and the verification) to stop
// after the current step, so what is reported is what ran; a second SIGINT quits at once.
// Exit codes follow the shell's convention, 128 + the signal number.

export type StopSignal = 'SIGINT' | 'SIGTERM';
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export interface Interrupts {
  /** Aborted on the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /**
   * A signal aborted by the next SIGINT or SIGTERM from now on: after an interrupted stack, the
   * layers that ran are still verified, and a further signal stops that too.
   */
  next(): AbortSignal;
  /** Which signal stopped the run, or null. */
  readonly received: StopSignal | null;
  dispose(): void;
}

/**
 * `onQuit` runs before a second SIGINT ends the process at once (the --json report's last word:
 * stdout promises one JSON object on every exit path); it must be synchronous.
 */
export function watchInterrupts(describeStep: () => string, onQuit?: (message: string) => void): Interrupts {
  const abort = new AbortController();
  let current = abort;
  let received: StopSignal | null = null;
  const on = (sig: StopSignal) => () => {
    if (current.signal.aborted) {
      if (sig === 'SIGINT') {
        process.stderr.write('\ninterrupted again: quitting now\n');
        onQuit?.(`interrupted twice (SIGINT) during: ${describeStep()}; quit without a report`);
        process.exit(SIGNAL_EXIT.SIGINT);
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
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

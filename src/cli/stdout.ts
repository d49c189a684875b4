// stdout that cannot be written (a full disk: `> /dev/full`; a reader that went away: `| head -1`)
// must not end the command with a stack trace, nor let it exit 0 with its report lost: the first
// write error is kept, and before exiting the command waits for stdout to drain and, if it
// failed, says so on stderr and exits STDOUT_FAILED_EXIT.

/** The exit status when stdout could not be written (README, "exit"). */
export const STDOUT_FAILED_EXIT = 4;

let failure: NodeJS.ErrnoException | null = null;
let watching = false;
const listeners = new Set<(reason: string) => void>();

/** Keeps the first error of process.stdout (console.log's included) instead of letting it throw. */
export function watchStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (failure) return;
    failure = e;
    for (const l of listeners) l(describeFailure(e));
  });
}

/**
 * Calls `listener` with the reason, in words, when stdout fails (at once if it already has): a run that prints as it
 * goes (--decode's growing text) stops instead of computing what can no longer be shown. Returns the unsubscribe.
 */
export function onStdoutFailure(listener: (reason: string) => void): () => void {
  if (failure) listener(describeFailure(failure));
  else listeners.add(listener);
  return () => listeners.delete(listener);
}

const WORDS: Record<string, string> = {
  ENOSPC: 'no space left on the device', EPIPE: 'the reading end was closed', EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error', EBADF: 'stdout is closed', ECONNRESET: 'the reading end was closed', EAGAIN: 'stdout would block',
};

const describeFailure = (e: NodeJS.ErrnoException): string => `${(e.code && WORDS[e.code]) ?? 'write error'}${e.code ? ` (${e.code})` : ''}`;

/** Resolves once everything written to stdout is flushed: null, or what went wrong, in words. */
export function drainStdout(): Promise<string | null> {
  if (failure) return Promise.resolve(describeFailure(failure));
  return new Promise((resolve) => {
    try {
      process.stdout.write('', (e) => {
        const err = failure ?? (e as NodeJS.ErrnoException | null | undefined);
        resolve(err ? describeFailure(err) : null);
      });
    } catch (e) {
      resolve(describeFailure(e as NodeJS.ErrnoException));
    }
  });
}

/** The line for stderr when stdout failed; `code` is the status the command would have exited with. */
export function stdoutFailedLine(reason: string, code: number): string {
  return `error: could not write the report to stdout: ${reason}; it is lost (the command's own status was ${code}; exiting ${STDOUT_FAILED_EXIT})`;
}

// The `webgpu-attention` command: run | info | params | help. Errors print one clear line
// (the engine's messages name the argument and the limit) and exit non-zero; with --json (or
// --json=…, refused as such) one JSON object ends stdout on every exit path. A stdout that cannot
// be written is reported on stderr with its own exit status (stdout.ts), never as a stack trace.

import { terminalSafeMessage } from '../io/escape.js';
import { infoCommand } from './info.js';
import { paramsCommand } from './params.js';
import { RUN_USAGE, runCommand } from './run.js';
import { SlowRunRefusal } from './slow-run.js';
import { drainStdout, STDOUT_FAILED_EXIT, stdoutFailedLine, watchStdout } from './stdout.js';

const USAGE = `webgpu-attention: transformer attention on WebGPU, verified against a float64 CPU reference

usage:
  webgpu-attention run [flags]        run an attention stack (see 'webgpu-attention run --help')
  webgpu-attention info [--json]      the adapter, its features and limits
  webgpu-attention params [--preset gpt3 | dimension flags] [--json]
                                      parameter counts, FLOPs and bytes of one forward pass

${RUN_USAGE}`;

/** The exit status of an unknown command (README, "exit"). */
export const UNKNOWN_COMMAND_EXIT = 2;

/** --json anywhere (also as --json=…, which the flag parser then refuses: the refusal is still JSON). */
const wantsJson = (argv: readonly string[]): boolean => argv.some((a) => a === '--json' || a.startsWith('--json='));

/** One JSON line on stdout. */
const printJsonLine = (value: unknown): void => {
  process.stdout.write(JSON.stringify(value) + '\n');
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = wantsJson(argv);
  switch (command) {
    case 'run':
      if (json && (rest.includes('--help') || rest.includes('-h'))) {
        printJsonLine({ status: 'help', exitCode: 0, usage: RUN_USAGE });
        return 0;
      }
      return runCommand(rest);
    case 'info':
    case 'params':
      if (rest.includes('--help') || rest.includes('-h')) {
        if (json) printJsonLine({ status: 'help', exitCode: 0, usage: USAGE });
        else console.log(USAGE);
        return 0;
      }
      return command === 'info' ? infoCommand(rest) : paramsCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
    case '--json':
      if (json) printJsonLine({ status: 'help', exitCode: 0, usage: USAGE });
      else console.log(USAGE);
      return 0;
    default: {
      const message = `unknown command '${terminalSafeMessage(command, 80, 1)}': the commands are run, info and params ('webgpu-attention --help')`;
      console.error(`error: ${message}`);
      if (json) printJsonLine({ status: 'error', exitCode: UNKNOWN_COMMAND_EXIT, error: message });
      return UNKNOWN_COMMAND_EXIT;
    }
  }
}

/** Exits with `code` once stdout is flushed, or with STDOUT_FAILED_EXIT, said on stderr, if it could not be written. */
async function exit(code: number): Promise<never> {
  const failed = await drainStdout();
  if (failed) {
    console.error(stdoutFailedLine(failed, code));
    process.exit(STDOUT_FAILED_EXIT);
  }
  process.exit(code);
}

watchStdout();
const argv = process.argv.slice(2);
main(argv).then(
  (code) => exit(code),
  (e: unknown) => {
    // Messages quote input escaped at the source; this last guard keeps the terminal safe from
    // any that did not (no raw ESC, bidi override or forged line reaches it).
    const message = terminalSafeMessage(e instanceof Error ? e.message : String(e));
    console.error(`error: ${message}`);
    if (process.env.WEBGPU_ATTENTION_DEBUG) console.error(terminalSafeMessage(String((e as Error)?.stack), 1000, 200));
    // --json promises one JSON object on stdout on every exit path, errors included.
    // A software adapter's refusal also gives how it priced the run (slow-run.ts).
    if (wantsJson(argv)) printJsonLine({ status: 'error', exitCode: 1, error: message, ...(e instanceof SlowRunRefusal ? { slowRunCheck: e.check } : {}) });
    return exit(1);
  },
);

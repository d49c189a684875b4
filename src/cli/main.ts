// The `webgpu-attention` command: run | info | params | help. Errors print one clear line
// (the engine's messages name the argument and the limit) and exit non-zero.

import { terminalSafeMessage } from '../io/escape.js';
import { infoCommand } from './info.js';
import { paramsCommand } from './params.js';
import { RUN_USAGE, runCommand } from './run.js';

const USAGE = `webgpu-attention: transformer attention on WebGPU, verified against a float64 CPU reference

usage:
  webgpu-attention run [flags]        run an attention stack (see 'webgpu-attention run --help')
  webgpu-attention info [--json]      the adapter, its features and limits
  webgpu-attention params [--preset gpt3 | dimension flags] [--json]
                                      parameter counts, FLOPs and bytes of one forward pass

${RUN_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'info':
      return infoCommand(rest);
    case 'params':
      return paramsCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Messages quote input escaped at the source; this last guard keeps the terminal safe from
    // any that did not (no raw ESC, bidi override or forged line reaches it).
    const message = terminalSafeMessage(e instanceof Error ? e.message : String(e));
    console.error(`error: ${message}`);
    if (process.env.WEBGPU_ATTENTION_DEBUG) console.error(terminalSafeMessage(String((e as Error)?.stack), 1000, 200));
    // --json promises one JSON object on stdout on every exit path, errors included; flushed
    // before exiting (a piped stdout is written asynchronously).
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify({ status: 'error', exitCode: 1, error: message }) + '\n', () => process.exit(1));
    } else process.exit(1);
  },
);

/** `run` with the defaults (`--preset gpt3`; on a software adapter `--seq 16 --layers 2`) that `extra` does not give, then `extra`. */
export declare function startArgs(extra: string[], software: boolean): string[];

// `npm start -- FLAGS`: the run's default flags (the GPT-3 preset; on a software adapter 16 tokens
// and 2 layers), less those the user gives: the command refuses a flag given twice.

/** `run` with the defaults `extra` does not give, then `extra`. */
export function startArgs(extra, software) {
  const given = (flag) => extra.some((a) => a === flag || a.startsWith(`${flag}=`));
  const defaults = [['--preset', 'gpt3'], ...(software ? [['--seq', '16'], ['--layers', '2']] : [])].filter(([flag]) => !given(flag));
  return ['run', ...defaults.flat(), ...extra];
}

// The one directive WGSL lacks: a line holding `//#FLAG text` becomes `text` when FLAG is on.
// Used only for what `override` cannot do (enable lines, element types, register-tile sizes).

const DIRECTIVE = /^(.*?)\/\/#([A-Za-z_][A-Za-z0-9_]*)\s(.*)$/;

export function preprocess(source: string, flags: ReadonlySet<string>): string {
  return source
    .split('\n')
    .map((line) => {
      const m = DIRECTIVE.exec(line);
      if (!m) return line;
      const [, , flag, text] = m;
      const indent = /^\s*/.exec(line)![0];
      return flags.has(flag!) ? indent + text! : line;
    })
    .join('\n');
}

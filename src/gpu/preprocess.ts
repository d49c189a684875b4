// What WGSL lacks: a line holding `//#FLAG text` becomes `text` when FLAG is on (used only for
// what `override` cannot do: enable lines, element types, register-tile sizes), and includes
// (withShared: files several kernels share, appended after the kernel's own text).

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

/**
 * A kernel's source with shared WGSL files appended. After, not before: a module's `enable`
 * directives must come first, and module-scope declarations may be used before they appear.
 */
export const withShared = (source: string, ...shared: string[]): string => [source, ...shared].join('\n');

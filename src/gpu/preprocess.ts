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

/** A WGSL file several kernels share: its name (for compile errors) and its text. */
export interface SharedWgsl {
  file: string;
  text: string;
}

/** The comment line withShared puts before each appended file, so a compile error can name it. */
const FILE_MARK = '//@file ';

/**
 * A kernel's source with shared WGSL files appended, each after a `//@file NAME` line. After, not
 * before: a module's `enable` directives must come first, and module-scope declarations may be
 * used before they appear.
 */
export const withShared = (source: string, ...shared: SharedWgsl[]): string =>
  [source, ...shared.map((s) => `${FILE_MARK}${s.file}\n${s.text}`)].join('\n');

/**
 * Where line `lineNum` (1-based) of a source built by withShared (and preprocessed: that keeps every
 * line where it is) comes from: `ownFile` for the kernel's own lines, else the appended file and its
 * own line number.
 */
export function sourceLine(code: string, lineNum: number, ownFile: string): { file: string; line: number } {
  const lines = code.split('\n');
  let where = { file: ownFile, line: lineNum };
  for (let i = 0; i < Math.min(lineNum - 1, lines.length); i++) {
    if (lines[i]!.startsWith(FILE_MARK)) where = { file: lines[i]!.slice(FILE_MARK.length).trim(), line: lineNum - (i + 1) };
  }
  return where;
}

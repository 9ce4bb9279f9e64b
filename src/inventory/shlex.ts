/**
 * Splitting an INI host line into words the way Ansible does (Python's
 * `shlex.split(line, comments=True)`, POSIX mode): whitespace separates words, single
 * quotes keep everything literal, double quotes allow `\"` and `\\`, a backslash outside
 * quotes escapes the next character, and `#` outside quotes starts a comment even in the
 * middle of a word (`pass=ab#c` is `pass=ab`, which is why Ansible's docs quote such values).
 */

export interface Word {
  text: string;
  /** 0-based offset in the line where the word starts. */
  offset: number;
}

export class ShlexError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const WHITESPACE = ' \t\r\n';

export function shlexSplit(line: string): Word[] {
  const words: Word[] = [];
  let current: Word | undefined;
  let i = 0;
  const finish = () => {
    if (current) words.push(current);
    current = undefined;
  };
  const start = () => (current ??= { text: '', offset: i });

  while (i < line.length) {
    const ch = line[i]!;
    if (WHITESPACE.includes(ch)) {
      finish();
      i += 1;
    } else if (ch === '#') {
      break;
    } else if (ch === '\\') {
      start();
      if (i + 1 >= line.length) throw new ShlexError('no escaped character after a backslash', i);
      current!.text += line[i + 1];
      i += 2;
    } else if (ch === "'" || ch === '"') {
      const word = start();
      const opened = i;
      i += 1;
      for (;;) {
        if (i >= line.length) throw new ShlexError('no closing quotation', opened);
        const inner = line[i]!;
        if (inner === ch) {
          i += 1;
          break;
        }
        if (ch === '"' && inner === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          word.text += line[i + 1];
          i += 2;
          continue;
        }
        word.text += inner;
        i += 1;
      }
    } else {
      start().text += ch;
      i += 1;
    }
  }
  finish();
  return words;
}

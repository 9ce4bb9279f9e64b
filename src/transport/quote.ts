/**
 * The one quoting function: every value that enters a remote shell command goes through
 * `quote`. POSIX single quotes keep everything literal; an embedded single quote is
 * closed, escaped and reopened.
 */
export function quote(value: string | number): string {
  const text = String(value);
  if (text !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A command line from words, each quoted. */
export function command(...words: Array<string | number>): string {
  return words.map(quote).join(' ');
}

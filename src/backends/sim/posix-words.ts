// Splits a command line into words the way a POSIX shell does for the simple
// commands nightshift sends: single quotes, double quotes, backslashes. The
// engines quote SQL with shellQuote ('it'\''s'), so that is what must round-trip.
// Pipes, redirections and lists are not interpreted: the simulated hosts only
// run simple commands, and an operator is reported so the caller can refuse it.

export interface Words {
  words: string[];
  /** The first unquoted shell operator met (|, ;, &&, >, ...), if any. */
  operator?: string;
}

export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError';
}

export function splitWords(line: string): Words {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let operator: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
      current += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (; i < line.length && line[i] !== '"'; i++) {
        // Inside double quotes a backslash only escapes $ ` " \ and newline.
        if (line[i] === '\\' && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1]!)) i++;
        current += line[i]!;
      }
      if (i >= line.length) throw new ShellSyntaxError('unterminated quoted string');
    } else if (c === '\\') {
      if (i + 1 < line.length) {
        if (line[i + 1] !== '\n') current += line[i + 1]!;
        i++;
      }
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (!operator && '|;&<>()'.includes(c)) {
      operator = /^(\|\||&&|>>|<<|[|;&<>()])/.exec(line.slice(i))![1];
      break;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return operator === undefined ? { words } : { words, operator };
}

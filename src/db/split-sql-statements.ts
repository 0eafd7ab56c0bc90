/** One statement of a migration file, with its position for error messages. */
export interface SqlStatement {
  /** The statement from its first token through its closing semicolon. */
  text: string;
  /** 1-based line of the statement's first token in the file. */
  line: number;
}

type TokenKind = 'semicolon' | 'word' | 'other';

interface Token {
  kind: TokenKind;
  /** Upper-cased text for words; empty for other tokens. */
  word: string;
  start: number;
  end: number;
}

/**
 * Splits SQL text into statements the way SQLite's `sqlite3_complete()` decides where one ends: at a
 * semicolon outside quotes and comments, except inside `CREATE [TEMP] TRIGGER`, whose body ends
 * only at a semicolon that follows `; END`. Comments and blank statements are dropped.
 */
export function splitSqlStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let first: Token | undefined;
  // Words seen at the start of the current statement, to recognize CREATE [TEMP] TRIGGER.
  let leadingWords: string[] = [];
  let inTrigger = false;
  let previous: Token | undefined;
  let beforePrevious: Token | undefined;

  for (const token of tokenize(sql)) {
    if (token.kind === 'semicolon') {
      const closesTrigger = previous?.word === 'END' && beforePrevious?.kind === 'semicolon';
      if (first !== undefined && (!inTrigger || closesTrigger)) {
        statements.push({ text: sql.slice(first.start, token.end), line: lineOf(sql, first.start) });
        first = undefined;
        leadingWords = [];
        inTrigger = false;
      }
    } else {
      first ??= token;
      if (!inTrigger && leadingWords.length < 4) {
        leadingWords.push(token.word);
        inTrigger = isTriggerStart(leadingWords);
      }
    }
    beforePrevious = previous;
    previous = token;
  }

  if (first !== undefined) statements.push({ text: sql.slice(first.start).trimEnd(), line: lineOf(sql, first.start) });
  return statements;
}

function isTriggerStart(words: string[]): boolean {
  const rest = words[0] === 'EXPLAIN' ? words.slice(1) : words;
  if (rest[0] !== 'CREATE') return false;
  if (rest[1] === 'TRIGGER') return true;
  return (rest[1] === 'TEMP' || rest[1] === 'TEMPORARY') && rest[2] === 'TRIGGER';
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Yields the tokens of `sql`, skipping whitespace and comments; quoted strings and identifiers are one token each. */
function* tokenize(sql: string): Generator<Token> {
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    const start = i;

    if (/\s/.test(char)) {
      i++;
    } else if (char === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? sql.length : newline + 1;
    } else if (char === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else if (char === ';') {
      i++;
      yield { kind: 'semicolon', word: '', start, end: i };
    } else if (char === "'" || char === '"' || char === '`' || char === '[') {
      i = endOfQuoted(sql, i, char === '[' ? ']' : char);
      yield { kind: 'other', word: '', start, end: i };
    } else if (/[A-Za-z_]/.test(char)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
      yield { kind: 'word', word: sql.slice(start, i).toUpperCase(), start, end: i };
    } else {
      i++;
      yield { kind: 'other', word: '', start, end: i };
    }
  }
}

/** Returns the offset after the quote that closes the one at `open`; a doubled closing quote is an escape. */
function endOfQuoted(sql: string, open: number, close: string): number {
  let i = open + 1;
  while (i < sql.length) {
    if (sql[i] === close) {
      if (close !== ']' && sql[i + 1] === close) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

/**
 * The first-line comment by which a migration declares that it must run outside a transaction,
 * one statement at a time (the only way `CREATE INDEX CONCURRENTLY` runs).
 */
export const NO_TRANSACTION_MARKER = '-- octo-sync: no-transaction';

/** Whether a migration script declares itself non-transactional on its first line. */
export function isNonTransactional(sql: string): boolean {
  const firstLine = sql.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return firstLine.trim() === NO_TRANSACTION_MARKER;
}

/** Where a quoted or commented span that starts at `i` ends (the index just past it), or -1 if none starts there. */
function skipSpan(sql: string, i: number): number {
  const two = sql.slice(i, i + 2);
  if (two === '--') {
    const end = sql.indexOf('\n', i);
    return end === -1 ? sql.length : end + 1;
  }
  if (two === '/*') {
    const end = sql.indexOf('*/', i + 2);
    return end === -1 ? sql.length : end + 2;
  }
  const ch = sql[i];
  if (ch === "'" || ch === '"') {
    // A doubled quote inside the span is an escaped quote: keep scanning past it.
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === ch && sql[j + 1] === ch) j += 2;
      else if (sql[j] === ch) return j + 1;
      else j += 1;
    }
    return sql.length;
  }
  const dollar = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
  if (ch === '$' && dollar) {
    const end = sql.indexOf(dollar[0], i + dollar[0].length);
    return end === -1 ? sql.length : end + dollar[0].length;
  }
  return -1;
}

/**
 * Splits a migration script into its statements at top-level semicolons (not those inside
 * quotes, dollar-quoted bodies or comments). Statements that hold only comments are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const end = skipSpan(sql, i);
    if (end !== -1) {
      i = end;
    } else if (sql[i] === ';') {
      statements.push(sql.slice(start, i));
      start = i + 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  statements.push(sql.slice(start));
  return statements.map((s) => s.trim()).filter((s) => stripComments(s).trim() !== '');
}

function stripComments(statement: string): string {
  return statement.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

/** Deepest nesting a value may have: far more than any form of the API needs. */
export const MAX_INPUT_DEPTH = 32;

/** Why a string value cannot be stored, as a problem line says it. */
const UNSTORABLE = 'must not contain NUL characters or unpaired surrogates';

/** Problems listed at most per value (a hostile body could hold thousands). */
const MAX_PROBLEMS = 50;

/**
 * Text we cannot store: Postgres refuses NUL in `text` and `jsonb` (22021, 22P05) and an unpaired
 * UTF-16 surrogate is not a Unicode character at all (22P02 once cast to `jsonb`).
 */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}

/**
 * Every string (object keys included) of a parsed JSON value that cannot be stored, and any
 * nesting deeper than `maxDepth`, as `"<field>: <reason>"` lines named the way validation names
 * fields (`updates.3.productId`; `root` for the value itself). Iterative, so a body nested a
 * million levels deep costs a loop, never the stack. `reasonOf` says what is wrong with a string
 * value that cannot be stored (a caller that knows more than the text shows, such as where its
 * bytes were not UTF-8; undefined: the usual reason).
 */
export function unstorableInput(value: unknown, root: string, maxDepth = MAX_INPUT_DEPTH, reasonOf: (text: string) => string | undefined = () => undefined): string[] {
  const problems: string[] = [];
  const stack: Array<{ value: unknown; path: string | undefined; depth: number }> = [{ value, path: undefined, depth: 0 }];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const { value: current, path: field, depth } = stack.pop()!;
    const path = field ?? root;
    if (typeof current === 'string') {
      if (!isStorableText(current)) problems.push(`${path}: ${reasonOf(current) ?? UNSTORABLE}`);
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) {
      problems.push(`${path}: nests deeper than ${maxDepth} levels`);
      continue;
    }
    // Pushed last to first, so that problems come out in document order.
    for (const [key, child] of Object.entries(current).reverse()) {
      if (!isStorableText(key)) {
        problems.push(`${path}: has a field name with NUL characters or unpaired surrogates`);
        continue;
      }
      stack.push({ value: child, path: field === undefined ? key : `${field}.${key}`, depth: depth + 1 });
    }
  }
  return problems;
}

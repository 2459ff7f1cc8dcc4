import type { z } from 'zod';

/** One `"<field>: <reason>"` line per problem, as the error envelope's `error` array lists them. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = 'body'): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : root;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${[...issue.path.map(String), key].join('.')}: is not a known field`);
      continue;
    }
    lines.push(`${field}: ${issue.message}`);
  }
  return [...new Set(lines)];
}

/**
 * Per-parse error messages, phrased to complete "<field>: ...". Schema-level messages (custom
 * refinements) take precedence over these.
 */
export const friendlyErrors: z.core.$ZodErrorMap = (issue) => {
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') && issue.input === undefined) return 'is required';
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'object') return 'must be a JSON object';
      return `must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be >= ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be <= ${issue.maximum}`;
    default:
      return undefined;
  }
};

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

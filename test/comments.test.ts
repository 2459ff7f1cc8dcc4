import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Comments may point readers only at documents that ship with the code: a section number of some
 * specification, or a Markdown file kept elsewhere, cannot be followed from a clone. Say it in your
 * own words, or point at the repository's pages (docs/architecture.md, docs/partner-api.md,
 * docs/octo.md).
 */
const ROOT = resolve(__dirname, '..');

interface Comment {
  line: number;
  text: string;
}

/** Comment syntax per kind of file: TypeScript and JavaScript go through the compiler's scanner. */
const LINE_COMMENTS: ReadonlyArray<{ file: RegExp; comment: RegExp }> = [
  { file: /\.prisma$/, comment: /\/\/(.*)$/ },
  { file: /\.sql$/, comment: /--(.*)$/ },
  { file: /(?:\.sh|\.ya?ml|(?:^|\/)Dockerfile|^\.ci\/run|(?:^|\/)\.(?:git|docker)ignore)$/, comment: /(?:^|\s)#(.*)$/ },
];
const SCRIPT = /\.[cm]?[jt]s$/;

function scriptComments(path: string, text: string): Comment[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found = new Map<number, Comment>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      found.set(range.pos, { line: source.getLineAndCharacterOfPosition(range.pos).line + 1, text: text.slice(range.pos, range.end) });
    }
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.pos));
    collect(ts.getTrailingCommentRanges(text, node.end));
    node.getChildren(source).forEach(visit);
  };
  visit(source);
  return [...found.values()];
}

const hasComments = (path: string) => SCRIPT.test(path) || LINE_COMMENTS.some((s) => s.file.test(path));

function commentsOf(path: string, text: string): Comment[] {
  if (SCRIPT.test(path)) return scriptComments(path, text);
  const syntax = LINE_COMMENTS.find((s) => s.file.test(path));
  if (!syntax) return [];
  return text.split('\n').flatMap((line, i) => {
    const match = syntax.comment.exec(line);
    return match ? [{ line: i + 1, text: match[1] ?? '' }] : [];
  });
}

const SECTION = /\bspec\s*§|§\s*\d/gi;
const URL = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;
const MARKDOWN = /[\w./-]+\.md\b/g;

/** A `*.md` name resolves from the repository root or from the citing file's folder. */
function inRepository(name: string, from: string, files: ReadonlySet<string>): boolean {
  const relative = name.replace(/^\/+/, '');
  return files.has(posix.normalize(relative)) || files.has(posix.join(posix.dirname(from), relative));
}

/** Every citation in `path`'s comments of a document that `files` (the repository) does not hold. */
function citations(path: string, text: string, files: ReadonlySet<string>): string[] {
  return commentsOf(path, text).flatMap((comment) => {
    const lineOf = (index: number) => comment.line + (comment.text.slice(0, index).match(/\n/g)?.length ?? 0);
    const sections = [...comment.text.matchAll(SECTION)].map((m) => `${path}:${lineOf(m.index)}: cites a section of a document (${m[0]})`);
    const withoutUrls = comment.text.replace(URL, (url) => ' '.repeat(url.length));
    const documents = [...withoutUrls.matchAll(MARKDOWN)]
      .filter((m) => !inRepository(m[0], path, files))
      .map((m) => `${path}:${lineOf(m.index)}: cites ${m[0]}, which is not in the repository`);
    return [...sections, ...documents];
  });
}

/** Tracked files and new ones git would track, as they are on disk now (deleted ones left out). */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return listed.split('\0').filter((path) => path !== '' && existsSync(join(ROOT, path)));
}

describe('comments cite only documents in the repository', () => {
  const files = repositoryFiles();
  const fileSet = new Set(files);

  it('finds section references and missing documents in comments, and nothing in code', () => {
    const repo = new Set(['README.md', 'docs/partner-api.md', 'bench/README.md']);
    const source = [
      '/**',
      ' * The webhook of spec §5.',
      ' * See docs/partner-api.md and https://example.test/guide.md.',
      ' */',
      "const label = 'spec §4, octo.md'; // as octo.md says",
      '// README.md, ./README.md and ../../../bench/README.md are fine; § 7 is not',
    ].join('\n');
    expect(citations('packages/x/src/a.ts', source, repo)).toEqual([
      'packages/x/src/a.ts:2: cites a section of a document (spec §)',
      'packages/x/src/a.ts:5: cites octo.md, which is not in the repository',
      'packages/x/src/a.ts:6: cites a section of a document (§ 7)',
    ]);
    expect(citations('prisma/schema.prisma', 'model A {\n  id Int // house-style.md\n}\n', repo)).toEqual([
      'prisma/schema.prisma:2: cites house-style.md, which is not in the repository',
    ]);
    expect(citations('.ci/run', 'set -e\n# see spec §2\necho "§3"\n', repo)).toEqual(['.ci/run:2: cites a section of a document (spec §)']);
  });

  const sources = files.filter(hasComments);

  it('reads the source files of every workspace, and the schema, migrations and CI script', () => {
    expect(sources.length).toBeGreaterThan(100);
    expect(sources).toEqual(
      expect.arrayContaining(['services/gateway/src/main.ts', 'services/worker/src/main.ts', 'packages/db/src/index.ts', 'prisma/schema.prisma', '.ci/run', 'test/comments.test.ts']),
    );
    expect(sources.some((path) => path.endsWith('/migration.sql'))).toBe(true);
  });

  it('no comment cites a document that is not in the repository', () => {
    const found = sources.flatMap((path) => citations(path, readFileSync(join(ROOT, path), 'utf8'), fileSet));
    expect(found).toEqual([]);
  });
});

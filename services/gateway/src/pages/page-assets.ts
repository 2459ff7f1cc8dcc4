import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { RequestHandler } from 'express';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** What a built file is sent as: its bytes, gzip and brotli made once, and its content hash (the ETags' base). */
interface Asset {
  mtimeMs: number;
  size: number;
  type: string;
  hash: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/** One path segment or more of safe names: no `..`, no hidden files, no encoded separators. */
const ASSET_PATH = /^\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

async function load(file: string, mtimeMs: number, size: number): Promise<Asset> {
  const identity = await readFile(file);
  const [gz, br] = await Promise.all([gzipped(identity, { level: 9 }), brotli(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })]);
  const hash = createHash('sha256').update(identity).digest('base64url').slice(0, 22);
  return { mtimeMs, size, type: TYPES[extname(file)] ?? 'application/octet-stream', hash, identity, gzip: gz, br };
}

type Encoding = 'br' | 'gzip' | 'identity';

/** Each encoding is its own representation, so its own strong ETag (a cache must not mix them). */
const etagOf = (asset: Asset, encoding: Encoding) => `"${asset.hash}${encoding === 'identity' ? '' : `-${encoding}`}"`;

/** `If-None-Match` by weak comparison (RFC 9110, If-None-Match): `W/` ignored, `*` matches. */
function notModified(header: string | undefined, etag: string): boolean {
  const tags = (header ?? '').split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  return tags.includes(etag) || tags.includes('*');
}

/** Source maps stay on disk for operators: served, they would hand anyone the pages' sources. */
const servable = (path: string) => ASSET_PATH.test(path) && !path.endsWith('.map');

/**
 * The built scripts and styles of `dir`: compressed once per file version (brotli or gzip, as the
 * browser accepts), revalidated by ETag (`no-cache`: their names carry no content hash). A file
 * that changes on disk is read again at its next request; an unknown one, or a source map, falls
 * through (404).
 */
export function pageAssets(dir: string): RequestHandler {
  const cache = new Map<string, Asset>();
  return async (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !servable(req.path)) return next();
    const file = join(dir, ...req.path.slice(1).split('/'));
    const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (!info?.isFile() || !file.startsWith(dir + sep)) return next();
    let asset = cache.get(file);
    if (asset?.mtimeMs !== info.mtimeMs || asset.size !== info.size) {
      asset = await load(file, info.mtimeMs, info.size);
      cache.set(file, asset);
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Vary', 'Accept-Encoding');
    const accepted = req.acceptsEncodings('br', 'gzip', 'identity');
    const encoding: Encoding = accepted === 'br' || accepted === 'gzip' ? accepted : 'identity';
    res.setHeader('ETag', etagOf(asset, encoding));
    if (notModified(req.get('if-none-match'), etagOf(asset, encoding))) return void res.status(304).end();
    if (encoding !== 'identity') res.setHeader('Content-Encoding', encoding);
    res.status(200).type(asset.type).send(asset[encoding]);
  };
}

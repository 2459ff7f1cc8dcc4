import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { RequestHandler } from 'express';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** What a built file is sent as: its bytes, gzip and brotli made once, and its ETag. */
interface Asset {
  mtimeMs: number;
  size: number;
  type: string;
  etag: string;
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
  const etag = `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`;
  return { mtimeMs, size, type: TYPES[extname(file)] ?? 'application/octet-stream', etag, identity, gzip: gz, br };
}

/**
 * The built scripts and styles of `dir`: compressed once per file version (brotli or gzip, as the
 * browser accepts), revalidated by ETag (`no-cache`: their names carry no content hash). A file
 * that changes on disk is read again at its next request; an unknown one falls through (404).
 */
export function pageAssets(dir: string): RequestHandler {
  const cache = new Map<string, Asset>();
  return async (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !ASSET_PATH.test(req.path)) return next();
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
    res.setHeader('ETag', asset.etag);
    const cached = (req.get('if-none-match') ?? '').split(',').map((tag) => tag.trim());
    if (cached.includes(asset.etag)) return void res.status(304).end();
    const encoding = req.acceptsEncodings('br', 'gzip', 'identity');
    if (encoding === 'br' || encoding === 'gzip') res.setHeader('Content-Encoding', encoding);
    res.status(200).type(asset.type).send(encoding === 'br' ? asset.br : encoding === 'gzip' ? asset.gzip : asset.identity);
  };
}

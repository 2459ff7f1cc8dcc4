# One image for the gateway, the worker and the migration runner; the command picks the role:
#   docker run IMAGE                         the gateway (port 3000, HEALTHCHECK on /healthz)
#   docker run IMAGE node dist/worker.js     a worker
#   docker run IMAGE node dist/migrate.js    apply pending migrations, then exit
# The final stage holds the compiled bundles, the production dependencies and the migrations:
# no TypeScript, no compiler, no dev dependency. Each dist/<name>.js turns source maps on and loads
# <name>.bundle.js, whose map lies beside it: stack traces name the TypeScript file and line (the
# maps carry names and lines only, no sources).

# 1. Build: every dependency (esbuild, the Prisma CLI that generates the client on install).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY packages ./packages
COPY services ./services
RUN npm ci --no-audit --no-fund && npm run build

# 2. Production dependencies only. The workspaces' package.json files say which; their sources are
# not needed (the bundles contain them, and the generated Prisma client with them).
FROM node:24-bookworm-slim AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/db/package.json packages/db/
COPY packages/jobs/package.json packages/jobs/
COPY packages/octo/package.json packages/octo/
COPY packages/platform/package.json packages/platform/
COPY packages/runs/package.json packages/runs/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/testkit/package.json packages/testkit/
COPY services/gateway/package.json services/gateway/
COPY services/worker/package.json services/worker/
# No install script needs to run (see allowScripts in package.json); the root's postinstall
# generates the Prisma client, which stage 1 already bundled. --omit=optional: the lockfile marks
# the Prisma CLI, TypeScript and the CLI's own tree (~250 MB) as optional peers of @prisma/client;
# the only other optional packages are msgpackr's native speed-up (msgpackr falls back to
# JavaScript) and pg-cloudflare (Cloudflare Workers only).
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. What runs.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself, not npm: SIGTERM from `docker stop` reaches the process that shuts down cleanly.
CMD ["node", "dist/gateway.js"]

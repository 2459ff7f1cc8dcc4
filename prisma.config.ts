import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI (`generate`, and `migrate` where the schema engine is installed).
// The services never read this file: they get DATABASE_URL from their validated config.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/octo_sync',
  },
});

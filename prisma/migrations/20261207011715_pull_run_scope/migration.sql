-- The scope a refresh narrowed an availability pull to (product, option, dates), as one short
-- canonical key; NULL for a whole pull and for catalog runs. A narrowed request joins a queued
-- whole pull or a queued pull of exactly its scope, never one narrowed differently (which would
-- leave what it asked for unpulled). Only whole pulls (NULL) make an integration "not due".
ALTER TABLE "sync_runs" ADD COLUMN "pull_scope" TEXT;

-- CreateTable: the newest pull answer per option and its window, which a push received earlier
-- must not override even where the pull wrote nothing (the slot was already as listed, or unlisted)
CREATE TABLE "availability_pull_marks" (
    "integration_id" UUID NOT NULL,
    "product_octo_id" TEXT NOT NULL,
    "option_octo_id" TEXT NOT NULL,
    "date_from" TEXT NOT NULL,
    "date_to" TEXT NOT NULL,
    "answer_key" BIGINT NOT NULL,

    CONSTRAINT "availability_pull_marks_pkey" PRIMARY KEY ("integration_id","product_octo_id","option_octo_id")
);

-- AddForeignKey
ALTER TABLE "availability_pull_marks" ADD CONSTRAINT "availability_pull_marks_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Pull marks per (option, window) (issue 21 item 3): one mark per tier window and one per targeted
-- window, so that a narrowed refresh keeps its own mark beside the wider one instead of being
-- dropped (or replacing it). The push upsert checks every mark covering the slot's date, and
-- `confirmedAt` takes the newest. Existing marks keep their window, now part of their key.
ALTER TABLE "availability_pull_marks" DROP CONSTRAINT "availability_pull_marks_pkey",
  ADD CONSTRAINT "availability_pull_marks_pkey" PRIMARY KEY ("integration_id", "product_octo_id", "option_octo_id", "date_from", "date_to");

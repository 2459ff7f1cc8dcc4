-- Pull flights' fences come from one sequence, so a flight row that retention deleted (no run of
-- its scope queued or running: hint and refresh scopes are many) and a later claim created again
-- never hands out a fence an attempt of the deleted one still holds.
CREATE SEQUENCE "pull_flights_fence_seq" OWNED BY "pull_flights"."fence";
ALTER TABLE "pull_flights" ALTER COLUMN "fence" SET DEFAULT nextval('pull_flights_fence_seq');

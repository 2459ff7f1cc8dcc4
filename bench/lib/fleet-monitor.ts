import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Pool } from 'pg';
import { round } from './args';

/*
 * What a fleet run spends, measured rather than guessed: the CPU time of each process that takes
 * part (from /proc, Linux; clock ticks are USER_HZ, 100 per second), the machine's busy share,
 * and what Postgres's backends of the bench database are doing, sampled from pg_stat_activity.
 */

const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in ticks; undefined once it is gone. */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Busy and total ticks of the whole machine (every core). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** A component's CPU over the run: seconds, and cores (seconds per second of wall time). */
export interface CpuFigure {
  seconds: number;
  cores: number;
}

export interface FleetUsage {
  wallSeconds: number;
  cpu: Record<string, CpuFigure>;
  /** Every core of the machine, how many were busy, and how many of those were busy with processes outside the run (a shared machine). */
  machine: { cores: number; busyCores: number; othersCores: number };
  postgres: {
    samples: number;
    /** Mean backends of the bench database running a statement. */
    activeMean: number;
    idleInTransactionMean: number;
    /**
     * What the sessions idle in transaction were waiting after: share of those samples per label
     * of the statement each had last sent ({@link statementLabel}), largest first.
     */
    idleInTransactionAfter: Record<string, number>;
    /** Share of active-backend samples per wait event (`CPU` when not waiting). */
    waits: Record<string, number>;
  };
}

const PG_SAMPLE = `SELECT pid, state, backend_type, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait,
    CASE WHEN state = 'idle in transaction' THEN left(query, 400) END AS query
  FROM pg_stat_activity
  WHERE pid <> pg_backend_pid() AND (datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer'))`;

interface PgRow {
  pid: number;
  state: string | null;
  backend_type: string;
  wait: string;
  query: string | null;
}

/**
 * A short name for the statement a session last sent: its first words, without comments, blank
 * space or parameter values (they are `$n` placeholders), enough to tell BEGIN, the fence's
 * deadline, the fence, the merge and the run’s end apart.
 */
function statementLabel(query: string): string {
  const text = query
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text === '' ? '(none)' : text.slice(0, 60);
}

/** Samples every `intervalMs` from `start()` to `stop()`; processes are named by component. */
export class FleetMonitor {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly owner = new Map<number, string>();
  private readonly waits = new Map<string, number>();
  private samples = 0;
  private active = 0;
  private idleInTransaction = 0;
  private readonly idleAfter = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private started = { wall: 0, machine: machineTicks(), bench: process.cpuUsage() };

  constructor(
    private readonly processes: Record<string, number[]>,
    private readonly pool: Pool,
  ) {}

  async start(intervalMs: number): Promise<void> {
    for (const [name, pids] of Object.entries(this.processes)) for (const pid of pids) this.see(pid, name, true);
    await this.samplePostgres(true);
    this.started = { wall: performance.now(), machine: machineTicks(), bench: process.cpuUsage() };
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, intervalMs);
  }

  async stop(): Promise<FleetUsage> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    const wallSeconds = (performance.now() - this.started.wall) / 1000;
    const machine = machineTicks();
    const cpu: Record<string, CpuFigure> = {};
    for (const [pid, ticks] of this.last) {
      const name = this.owner.get(pid)!;
      const seconds = (cpu[name]?.seconds ?? 0) + (ticks - (this.first.get(pid) ?? 0)) / TICKS_PER_SECOND;
      cpu[name] = { seconds, cores: 0 };
    }
    const bench = process.cpuUsage(this.started.bench);
    cpu.bench = { seconds: (bench.user + bench.system) / 1e6, cores: 0 };
    for (const figure of Object.values(cpu)) figure.cores = round(figure.seconds / wallSeconds);
    for (const figure of Object.values(cpu)) figure.seconds = round(figure.seconds);
    const busyCores = ((machine.busy - this.started.machine.busy) / (machine.total - this.started.machine.total)) * cpus().length;
    const ours = Object.values(cpu).reduce((sum, figure) => sum + figure.cores, 0);
    const activeSamples = Math.max(1, [...this.waits.values()].reduce((a, b) => a + b, 0));
    return {
      wallSeconds: round(wallSeconds),
      cpu,
      machine: { cores: cpus().length, busyCores: round(busyCores), othersCores: round(Math.max(0, busyCores - ours)) },
      postgres: {
        samples: this.samples,
        activeMean: round(this.active / Math.max(1, this.samples)),
        idleInTransactionMean: round(this.idleInTransaction / Math.max(1, this.samples)),
        idleInTransactionAfter: shares(this.idleAfter, Math.max(1, this.idleInTransaction)),
        waits: shares(this.waits, activeSamples),
      },
    };
  }

  private see(pid: number, name: string, baseline: boolean): void {
    const ticks = cpuTicks(pid);
    if (ticks === undefined) return;
    if (!this.owner.has(pid)) {
      this.owner.set(pid, name);
      // A process first seen after the start (a new Postgres connection) did all its work in the run.
      this.first.set(pid, baseline ? ticks : 0);
    }
    this.last.set(pid, ticks);
  }

  private async sample(): Promise<void> {
    for (const [name, pids] of Object.entries(this.processes)) for (const pid of pids) this.see(pid, name, false);
    await this.samplePostgres(false);
  }

  private async samplePostgres(baseline: boolean): Promise<void> {
    const { rows } = await this.pool.query<PgRow>(PG_SAMPLE);
    for (const row of rows) this.see(row.pid, 'postgres', baseline);
    if (baseline) return;
    this.samples++;
    for (const row of rows) {
      if (row.backend_type !== 'client backend') continue;
      if (row.state === 'idle in transaction') {
        this.idleInTransaction++;
        const label = statementLabel(row.query ?? '');
        this.idleAfter.set(label, (this.idleAfter.get(label) ?? 0) + 1);
      }
      if (row.state !== 'active') continue;
      this.active++;
      this.waits.set(row.wait, (this.waits.get(row.wait) ?? 0) + 1);
    }
  }
}

/** Each count as a share of `total`, largest first. */
function shares(counts: ReadonlyMap<string, number>, total: number): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => [key, round(n / total)]));
}

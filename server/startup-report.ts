/**
 * What the server tells a person once it has started: Triton's model status table (Model | Version | Status, the
 * reason after UNAVAILABLE) and one `ready:` line with the listening ports.
 */
import { getBorderCharacters, table } from 'table';
import type { RepositoryIndexEntry } from './core/types';

/** Wider reasons wrap inside their cell, so the table stays readable in a terminal. */
const STATUS_COLUMN_WIDTH = 80;

/** Triton's table borders (table_printer.cc): `+---+` rules and `| cell |` rows. */
const TRITON_BORDER = { ...getBorderCharacters('ramac'), joinLeft: '+', joinRight: '+', joinJoin: '+' };

/** The models the server tried to load, one row per version: READY, or the state and why. */
export function modelStatusTable(entries: readonly RepositoryIndexEntry[]): string {
  const rows = entries
    .filter((entry) => entry.state !== undefined)
    .map((entry) => [entry.name, entry.version ?? '-', entry.state === 'READY' || !entry.reason ? entry.state! : `${entry.state}: ${entry.reason}`]);
  const data = [['Model', 'Version', 'Status'], ...rows];
  const statusWidth = Math.min(STATUS_COLUMN_WIDTH, Math.max(...data.map((row) => row[2].length)));
  return table(data, {
    border: TRITON_BORDER,
    drawHorizontalLine: (line, count) => line === 0 || line === 1 || line === count,
    columns: { 2: { width: statusWidth, wrapWord: true } },
  }).trimEnd();
}

export interface ListeningPorts {
  readonly httpPort?: number;
  readonly grpcPort?: number;
  readonly metricsPort?: number;
}

/** `ready: HTTP :8000, gRPC :8001, metrics :8002` (the frontends that are turned off are left out). */
export function readyLine(ports: ListeningPorts): string {
  const parts = [
    ports.httpPort !== undefined ? `HTTP :${ports.httpPort}` : undefined,
    ports.grpcPort !== undefined ? `gRPC :${ports.grpcPort}` : undefined,
    ports.metricsPort !== undefined ? `metrics :${ports.metricsPort}` : undefined,
  ].filter((part) => part !== undefined);
  return `ready: ${parts.length > 0 ? parts.join(', ') : 'no frontend is serving (--allow-http, --allow-grpc and --allow-metrics are false)'}`;
}

/**
 * Triton's trace extension in one place for both frontends (Triton's TraceManager): the global setting, per-model
 * settings that override some or all of its fields, sampling, and the trace ids. The facade asks it once per
 * request; while no setting can sample, `active` is false and that question costs one branch.
 */
import { Errors } from './errors';
import { RequestTrace } from './request-trace';
import { parseTraceChanges, TraceSettingChanges, TraceUpdate } from './trace-changes';
import { TraceFile } from './trace-file';
import { TraceField, TraceSetting, TraceValues, UNLIMITED_TRACE_COUNT } from './trace-setting';

/** The settings in Triton's names and string encoding, as GET /v2/trace/setting answers them. */
export interface TraceSettingsView {
  readonly trace_level: string[];
  readonly trace_rate: string;
  readonly trace_count: string;
  readonly log_frequency: string;
  readonly trace_file: string;
  readonly trace_mode: 'triton';
}

/** Triton's defaults: level OFF, every 1000th request, no count limit, written at shutdown, no file. */
export const DEFAULT_TRACE_VALUES: TraceValues = {
  levels: [],
  rate: 1000,
  count: UNLIMITED_TRACE_COUNT,
  logFrequency: 0,
  file: '',
};

const ALL_FIELDS: readonly TraceField[] = ['level', 'rate', 'count', 'logFrequency', 'file'];

export class TraceManager {
  /** True while some setting may sample: the facade's whole cost when tracing is off. */
  active = false;
  /** The command line's setting: what a cleared global field returns to. */
  private readonly globalDefault: TraceSetting;
  private global: TraceSetting;
  private readonly models = new Map<string, TraceSetting>();
  /** Models whose setting leaves some fields to the global setting: a global update re-derives them. */
  private readonly fallbackModels = new Set<string>();
  private readonly files = new Map<string, TraceFile>();
  private nextId = 1;

  constructor(
    initial: Partial<TraceValues> = {},
    private readonly onWriteError: (error: Error) => void = () => {},
  ) {
    const values = { ...DEFAULT_TRACE_VALUES, ...initial };
    this.globalDefault = new TraceSetting(values, this.fileFor(values.file), new Set());
    this.global = new TraceSetting(values, this.fileFor(values.file), new Set());
    this.refreshActive();
  }

  /** The setting in force for a model (its own, else the global one); no model: the global one. */
  settings(model?: string): TraceSettingsView {
    return view(this.settingFor(model));
  }

  /** Apply a validated update to the global setting (no model) or to a model's; returns the settings now in force. */
  update(model: string | undefined, changes: TraceSettingChanges): TraceSettingsView {
    const update = parseTraceChanges(changes);
    const name = model ?? '';
    this.updateOne(name, update);
    if (name === '') {
      // Models that mirror some global fields follow the new global values.
      for (const fallback of [...this.fallbackModels]) this.updateOne(fallback, { clear: new Set() });
    }
    this.refreshActive();
    return this.settings(model);
  }

  /** A trace for this request when its setting samples it, else undefined. */
  sample(model: string, requestId: string | undefined): RequestTrace | undefined {
    const setting = this.settingFor(model);
    if (!setting.sample()) return undefined;
    if (!setting.valid) this.refreshActive(); // the count just ran out
    return new RequestTrace(this.nextId++, setting, model, requestId);
  }

  /** The trace of a request made for a traced one (an ensemble step): never sampled on its own, as in Triton. */
  childOf(parent: RequestTrace, model: string): RequestTrace {
    return parent.child(this.nextId++, model);
  }

  /** Shutdown: every setting writes what it holds; files are closed. */
  close(): void {
    this.global.retire();
    for (const setting of this.models.values()) setting.retire();
    for (const file of this.files.values()) file.close();
    this.active = false;
  }

  private settingFor(model: string | undefined): TraceSetting {
    return (model !== undefined && this.models.get(model)) || this.global;
  }

  /** Triton's UpdateTraceSettingInternal: fallback values, then the fields still specified, then the new ones. */
  private updateOne(model: string, update: TraceUpdate): void {
    const current = model === '' ? this.global : this.models.get(model);
    const fallback = model === '' ? this.globalDefault : this.global;
    const specified = new Set<TraceField>();
    for (const field of ALL_FIELDS) {
      const cleared = field !== 'file' && update.clear.has(field);
      const given = fieldOf(update, field) !== undefined;
      if (!cleared && (given || current?.specified.has(field) === true)) specified.add(field);
    }
    const pick = <K extends keyof TraceValues>(field: TraceField, key: K): TraceValues[K] => {
      if (!specified.has(field)) return fallback.values[key];
      const given = fieldOf(update, field) as TraceValues[K] | undefined;
      return given !== undefined ? given : current!.values[key];
    };
    const values: TraceValues = {
      levels: pick('level', 'levels'),
      rate: pick('rate', 'rate'),
      count: pick('count', 'count'),
      logFrequency: pick('logFrequency', 'logFrequency'),
      file: pick('file', 'file'),
    };
    if (model !== '') {
      if (specified.size === 0) {
        // Nothing of its own left: the model follows the global setting again.
        this.models.get(model)?.retire();
        this.models.delete(model);
        this.fallbackModels.delete(model);
        return;
      }
    }
    const next = new TraceSetting(values, this.fileFor(values.file), specified);
    // The only invalid setting accepted is one that turns tracing off.
    if (!next.valid && values.levels.length > 0) throw Errors.traceInvalidSetting(next.invalidReason);
    if (model !== '') {
      if (specified.size === ALL_FIELDS.length) this.fallbackModels.delete(model);
      else this.fallbackModels.add(model);
    }
    current?.retire();
    if (model === '') this.global = next;
    else this.models.set(model, next);
  }

  private fileFor(name: string): TraceFile {
    let file = this.files.get(name);
    if (!file) {
      file = new TraceFile(name, this.onWriteError);
      this.files.set(name, file);
    }
    return file;
  }

  private refreshActive(): void {
    this.active = this.global.valid || [...this.models.values()].some((setting) => setting.valid);
  }
}

function fieldOf(update: TraceUpdate, field: TraceField): unknown {
  switch (field) {
    case 'level':
      return update.levels;
    case 'rate':
      return update.rate;
    case 'count':
      return update.count;
    case 'logFrequency':
      return update.logFrequency;
    case 'file':
      return undefined; // not updatable through the protocols
  }
}

function view(setting: TraceSetting): TraceSettingsView {
  return {
    trace_level: setting.levels.length === 0 ? ['OFF'] : [...setting.levels],
    trace_rate: String(setting.rate),
    trace_count: String(setting.count),
    log_frequency: String(setting.logFrequency),
    trace_file: setting.file.name,
    trace_mode: 'triton',
  };
}

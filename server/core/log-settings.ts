/**
 * Triton's logging extension in one place for both frontends: the current settings, their validation (Triton's
 * messages) and how they drive the pino logger. Triton's toggles map onto pino levels: log_info → info, log_warning →
 * warn, log_error → error, log_verbose_level 1 → debug, 2+ → trace; fatal lines are always written.
 */
import pino, { Level, Logger, LoggerOptions } from 'pino';
import { Errors } from './errors';

export type LogFormat = 'default' | 'ISO8601';

/** The settings in Triton's names, as GET /v2/logging answers them. */
export interface LogSettings {
  readonly log_file: string;
  readonly log_info: boolean;
  readonly log_warning: boolean;
  readonly log_error: boolean;
  readonly log_verbose_level: number;
  readonly log_format: LogFormat;
}

/**
 * A requested change as a frontend decoded it: the JSON value (HTTP) or the chosen oneof field (gRPC, undefined when
 * none is set). Anything but the setting's type is refused here.
 */
export type LogSettingValue = unknown;

const UINT32_MAX = 0xffff_ffff;

export const DEFAULT_LOG_SETTINGS: LogSettings = {
  log_file: '',
  log_info: true,
  log_warning: true,
  log_error: true,
  log_verbose_level: 0,
  log_format: 'default',
};

const PINO_LEVEL_VALUES: Readonly<Record<Level, number>> = pino.levels.values as Record<Level, number>;

/** Holds the settings and applies them to the logger (its level; per-level toggles through pinoOptions' hook). */
export class LogSettingsController {
  private settings: LogSettings;
  private logger: Logger | undefined;

  constructor(initial: Partial<LogSettings> = {}) {
    this.settings = { ...DEFAULT_LOG_SETTINGS, ...initial };
  }

  /**
   * Options for building the logger that follows these settings exactly: a hook drops lines of a turned-off level
   * (a single pino threshold cannot express "errors off, warnings on"), and the time format is read per line.
   */
  pinoOptions(): LoggerOptions {
    const controller = this;
    return {
      level: this.threshold(),
      timestamp: () => (controller.settings.log_format === 'ISO8601' ? pino.stdTimeFunctions.isoTime() : pino.stdTimeFunctions.epochTime()),
      hooks: {
        logMethod(args, method, level) {
          if (controller.allows(level)) method.apply(this, args);
        },
      },
    };
  }

  /**
   * Settings that describe a logger built elsewhere (its level gives log_verbose_level and the toggles), attached to
   * it. Without pinoOptions' hook such a logger follows the settings through its threshold level only.
   */
  static describing(logger: Logger): LogSettingsController {
    const controller = new LogSettingsController(LogSettingsController.forLevel(logger.level));
    controller.attach(logger);
    return controller;
  }

  /** The settings a pino level name stands for ('silent' or an unknown name: everything off). */
  static forLevel(level: string): Partial<LogSettings> {
    const value = PINO_LEVEL_VALUES[level as Level] ?? Infinity;
    return {
      log_verbose_level: level === 'trace' ? 2 : level === 'debug' ? 1 : 0,
      log_info: value <= PINO_LEVEL_VALUES.info,
      log_warning: value <= PINO_LEVEL_VALUES.warn,
      log_error: value <= PINO_LEVEL_VALUES.error,
    };
  }

  /** The logger whose level follows the settings from now on (it is changed by update(), not here). */
  attach(logger: Logger): void {
    this.logger = logger;
  }

  current(): LogSettings {
    return { ...this.settings };
  }

  /**
   * Validate every change first (nothing is applied when one is bad), then apply them; unknown names are ignored as
   * Triton ignores them. Returns the settings now in force.
   */
  update(changes: Readonly<Record<string, LogSettingValue>>): LogSettings {
    const next: { -readonly [K in keyof LogSettings]: LogSettings[K] } = { ...this.settings };
    for (const [name, value] of Object.entries(changes)) {
      switch (name) {
        case 'log_file':
          throw Errors.logFileNotUpdatable();
        case 'log_info':
        case 'log_warning':
        case 'log_error':
          if (typeof value !== 'boolean') throw Errors.logSettingType(name, 'boolean');
          next[name] = value;
          break;
        case 'log_verbose_level':
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
            throw Errors.logSettingType(name, 'int32');
          }
          next.log_verbose_level = value;
          break;
        case 'log_format':
          if (typeof value !== 'string') throw Errors.logSettingType(name, 'string');
          if (value !== 'default' && value !== 'ISO8601') throw Errors.badLogFormat(value);
          next.log_format = value;
          break;
        default:
          break;
      }
    }
    this.settings = next;
    if (this.logger) this.logger.level = this.threshold();
    return this.current();
  }

  /** Whether a line at this pino level value is written under the current settings. */
  allows(level: number): boolean {
    const s = this.settings;
    if (level >= PINO_LEVEL_VALUES.fatal) return true;
    if (level >= PINO_LEVEL_VALUES.error) return s.log_error;
    if (level >= PINO_LEVEL_VALUES.warn) return s.log_warning;
    if (level >= PINO_LEVEL_VALUES.info) return s.log_info;
    if (level >= PINO_LEVEL_VALUES.debug) return s.log_verbose_level >= 1;
    return s.log_verbose_level >= 2;
  }

  /** The lowest pino level any setting lets through (lines below it cost nothing). */
  private threshold(): Level {
    const s = this.settings;
    if (s.log_verbose_level >= 2) return 'trace';
    if (s.log_verbose_level >= 1) return 'debug';
    if (s.log_info) return 'info';
    if (s.log_warning) return 'warn';
    if (s.log_error) return 'error';
    return 'fatal';
  }
}

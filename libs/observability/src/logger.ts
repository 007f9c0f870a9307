import { pino, type DestinationStream, type Level, type Logger as PinoLogger, type StreamEntry } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { logContext } from './tracing.js';

/** A log level, least to most severe; `silent` writes nothing. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Every {@link LogLevel}, for config schemas (`z.enum(LOG_LEVELS)`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const satisfies readonly LogLevel[];

/** Anything lines can be written to: a stream (process.stdout/stderr) or a test's collector. */
export interface LogSink {
  write(line: string): unknown;
}

/** One place a logger writes to: a file (appended to, created with its directory) or a sink; `pretty` for people. */
export interface LogTarget {
  to: string | LogSink;
  /** Human-readable lines (pino-pretty, coloured) instead of JSON. */
  pretty?: boolean;
  /**
   * The least severe line this target takes (default: every line the logger writes). A line goes
   * to the targets of the highest such level it reaches only: `[{ to: stdout }, { to: stderr,
   * level: 'warn' }]` writes info to stdout and warnings to stderr, not to both.
   */
  level?: Exclude<LogLevel, 'silent'>;
}

/** What {@link createLogger} builds. */
export interface LoggerOptions {
  /** The `service` field of every line (e.g. `planner`, `nightshift-worker`). */
  service: string;
  /** Default `info`. */
  level?: LogLevel;
  /** Human-readable lines instead of JSON, for a single `destination`. */
  pretty?: boolean;
  /** Default stdout. A file path, a sink, or several targets (each JSON or pretty). */
  destination?: string | LogSink | readonly LogTarget[];
}

type LogFn = {
  (msg: string): void;
  (fields: Record<string, unknown>, msg?: string): void;
};

/**
 * A structured logger: every line is one JSON object with `level` (a label), `time` (ISO-8601),
 * `service`, the ids of the work in progress (`trace_id`, `span_id`, `run_id`, `task_id`, from
 * {@link logContext}: the active span and the run and task it concerns), the fields passed, and `msg`.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose lines all carry `fields` too. */
  child(fields: Record<string, unknown>): Logger;
  /** The same logger (destination, level) for another service: its lines' `service` is `service`. */
  forService(service: string): Logger;
  /** Whether a line at `level` would be written. */
  isLevelEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
  /**
   * Closes the files this logger (and every logger derived from it) opened; lines are written
   * synchronously, so nothing is lost, and lines logged afterwards are dropped, not thrown.
   */
  close(): void;
}

/**
 * Builds a pino logger. Lines are written synchronously: a process that exits (or a test that reads
 * the file) sees every line logged before, and pretty output runs in this thread, not in a
 * worker-thread transport (which loses lines at exit and outlives tests).
 */
export function createLogger(options: LoggerOptions): Logger {
  const opened: Array<{ end(): void }> = [];
  const streamOf = (target: LogTarget): DestinationStream => {
    const sink = typeof target.to === 'string' ? fileStream(target.to, opened) : (target.to as DestinationStream);
    return target.pretty ? prettyStream(sink) : sink;
  };
  const destination = options.destination ?? { write: (line: string) => process.stdout.write(line) };
  const targets: LogTarget[] = Array.isArray(destination) ? [...destination] : [{ to: destination as string | LogSink, pretty: options.pretty ?? false }];
  const stream =
    targets.length === 1
      ? streamOf(targets[0])
      : pino.multistream(
          targets.map((t): StreamEntry => ({ stream: streamOf(t), level: t.level ?? 'trace' })),
          { dedupe: true },
        );
  const root = pino(
    {
      level: options.level ?? 'info',
      // `service` is a child's binding, not the base, so that forService() does not write it twice.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Fields given to a call win over the context's (a line about another run names that run).
      mixin: () => logContext(),
    },
    stream,
  );
  const close = (): void => {
    for (const file of opened.splice(0)) file.end();
  };
  const forService = (service: string): Logger => wrap(root.child({ service }), forService, close);
  return forService(options.service);
}

function wrap(logger: PinoLogger, forService: (service: string) => Logger, close: () => void): Logger {
  const fn =
    (level: Level): LogFn =>
    (a: string | Record<string, unknown>, msg?: string) =>
      typeof a === 'string' ? logger[level](a) : logger[level](a, msg);
  return {
    trace: fn('trace'),
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    fatal: fn('fatal'),
    child: (fields) => wrap(logger.child(fields), forService, close),
    forService,
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
    close,
  };
}

function fileStream(path: string, opened: Array<{ end(): void }>): DestinationStream {
  const file = pino.destination({ dest: path, mkdir: true, append: true, sync: true });
  let open = true;
  opened.push({
    end: () => {
      open = false;
      file.end();
    },
  });
  // A line logged after close() is dropped: logging must never fail the code that logs.
  return { write: (line: string) => (open ? file.write(line) : undefined) };
}

function prettyStream(sink: DestinationStream): DestinationStream {
  // pino-pretty's formatter alone, in this thread: each JSON line in, one readable line out.
  const format = prettyFactory({
    colorize: sink === (process.stderr as unknown) ? process.stderr.isTTY : sink === (process.stdout as unknown) ? process.stdout.isTTY : false,
    translateTime: 'SYS:HH:MM:ss.l',
    messageFormat: '{service}: {msg}',
    // The ids a person follows stay (run, task); the trace's are for tools, and in the JSON lines.
    ignore: 'service,trace_id,span_id,context',
    singleLine: true,
  });
  return { write: (line: string) => sink.write(format(line)) };
}

/** Nest's `LoggerService`, structurally (so this lib needs no Nest): what `NestFactory.create(…, { logger })` takes. */
export interface NestLoggerService {
  log(message: unknown, ...optionalParams: unknown[]): void;
  error(message: unknown, ...optionalParams: unknown[]): void;
  warn(message: unknown, ...optionalParams: unknown[]): void;
  debug(message: unknown, ...optionalParams: unknown[]): void;
  verbose(message: unknown, ...optionalParams: unknown[]): void;
  fatal(message: unknown, ...optionalParams: unknown[]): void;
}

/** How {@link nestLogger} names the service of a line. */
export interface NestLoggerOptions {
  /**
   * The `service` of a line by its Nest context (a `new Logger('planner')`'s `'planner'`); a context
   * not listed keeps the logger's own service. Nest keeps one logger per process, shared by every
   * app in it, so an embedded host that runs three services tells them apart by context.
   */
  services?: Readonly<Record<string, string>>;
}

/**
 * Nest's logger over a {@link Logger}: `log` is info, `verbose` debug, `debug`/`warn`/`error`/`fatal`
 * as named; the last string argument (Nest's `context`) becomes the `context` field, and an
 * `error`'s stack string an `err.stack`. A message may be an object of fields with a `msg`
 * (`this.log.log({ msg: 'run started', run_id })`), or an Error.
 *
 * Nest's own plumbing logs its boot (modules loaded, routes mapped, "application successfully
 * started") at `log` under class-named contexts (`InstanceLoader`, `RouterExplorer`, …): those
 * lines are debug here, so the default output is nightshift's. nightshift's own contexts are
 * lowercase service names; their warnings and errors, and the framework's, keep their level.
 */
export function nestLogger(logger: Logger, options: NestLoggerOptions = {}): NestLoggerService {
  const loggers = new Map<string, Logger>();
  const forService = (context: string | undefined): Logger => {
    const service = context !== undefined ? options.services?.[context] : undefined;
    if (service === undefined) return logger;
    let child = loggers.get(service);
    if (!child) loggers.set(service, (child = logger.forService(service)));
    return child;
  };
  const write = (level: Exclude<LogLevel, 'silent'>, message: unknown, params: unknown[], isError = false): void => {
    const args = [...params];
    const context = typeof args.at(-1) === 'string' && (args.length > 1 || !isError || !looksLikeStack(args[0] as string)) ? (args.pop() as string) : undefined;
    const stack = isError && typeof args[0] === 'string' ? (args.shift() as string) : undefined;
    const framework = context !== undefined && /^[A-Z]/.test(context);
    const at = framework && level === 'info' ? 'debug' : level;
    const fields: Record<string, unknown> = context !== undefined ? { context } : {};
    let msg: string;
    if (message instanceof Error) {
      fields['err'] = message;
      msg = message.message;
    } else if (typeof message === 'object' && message !== null) {
      const { msg: text, ...rest } = message as Record<string, unknown>;
      Object.assign(fields, rest);
      msg = typeof text === 'string' ? text : '';
    } else {
      msg = String(message);
    }
    if (stack !== undefined && stack !== '') fields['err'] = Object.assign(new Error(msg), { stack });
    if (args.length > 0) fields['args'] = args;
    forService(context)[at](fields, msg);
  };
  return {
    log: (message, ...params) => write('info', message, params),
    error: (message, ...params) => write('error', message, params, true),
    warn: (message, ...params) => write('warn', message, params),
    debug: (message, ...params) => write('debug', message, params),
    verbose: (message, ...params) => write('debug', message, params),
    fatal: (message, ...params) => write('fatal', message, params),
  };
}

function looksLikeStack(text: string): boolean {
  return /\n\s+at /.test(text);
}

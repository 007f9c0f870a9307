import { SCHEMAS } from '@nightshift/analytics';
import type { DataProblem, DatasetTable } from '@nightshift/contracts';

/** Placed where a message carried content of the file (a value, a header, the reader's own quote of a line). */
const NOT_SHOWN = '(content not shown)';

/** A detail after ": " that is the validator's own wording, never the file's. */
const OWN_DETAIL = /^empty file: expected an? \w+ header$/;

/**
 * A validation problem as ingestion publishes it: file, line, column and what is wrong, never a
 * byte of the file. Whoever sends a Dataset Landed can name any object of the store, so quoting a
 * value, an unknown header or a reader's error text (which quotes the line) would disclose
 * objects the sender may not read. What stays: the table's own column names and the validator's
 * fixed wording (rule messages, "missing required value", ...). The cut is by the shape of the
 * message (quotes, ": " details, "got <value>"), so a new message template that quotes content in
 * another shape must be added here.
 */
export function withoutContent(table: DatasetTable, problem: DataProblem): DataProblem {
  const known = new Set(SCHEMAS[table].columns.map((c) => c.name));
  const { column, message, ...rest } = problem;
  return { ...rest, ...(column !== undefined && known.has(column) ? { column } : {}), message: contentFreeMessage(message, known) };
}

function contentFreeMessage(message: string, known: ReadonlySet<string>): string {
  if (OWN_DETAIL.test(message)) return message;
  const got = /^(expected \w+), got /.exec(message);
  if (got) return `${got[1]} ${NOT_SHOWN}`;
  const quotesOnlyColumns = [...message.matchAll(/"([^"]*)"/g)].every((m) => known.has(m[1]!)) && (message.match(/"/g)?.length ?? 0) % 2 === 0;
  if (quotesOnlyColumns && !message.includes(': ')) return message;
  const cut = Math.min(...[': ', ' "', ' ('].map((s) => message.indexOf(s)).filter((i) => i > 0));
  return `${Number.isFinite(cut) ? message.slice(0, cut) : 'invalid content'} ${NOT_SHOWN}`;
}

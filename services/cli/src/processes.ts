import { readdirSync, readFileSync } from 'node:fs';

/** One process as Linux's /proc shows it. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  argv: string[];
}

/** Every process this user can see (Linux /proc; empty elsewhere). */
export function processTable(): ProcessEntry[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcessEntry[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the name, which may itself hold spaces and parentheses: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(entry), ppid, argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The processes `ppid` started and still runs. */
export function childrenOf(ppid: number, table: ProcessEntry[] = processTable()): ProcessEntry[] {
  return table.filter((p) => p.ppid === ppid);
}

/** Every live process below `pid` in the process tree (children, their children, ...). */
export function descendantsOf(pid: number): ProcessEntry[] {
  const table = processTable();
  const out: ProcessEntry[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const child of childrenOf(parent, table)) {
      out.push(child);
      frontier.push(child.pid);
    }
  }
  return out;
}

/** Whether `pid` is a live process (a zombie waiting for its parent counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

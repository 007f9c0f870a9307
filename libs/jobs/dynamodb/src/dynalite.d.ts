// dynalite ships no type declarations; this covers the part the embedded server uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    /** How long new tables stay CREATING (default 500 ms). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
  }

  /** An http.Server whose `close` also closes the LevelDB store. */
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}

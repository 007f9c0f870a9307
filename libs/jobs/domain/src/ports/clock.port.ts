/** Time and ids, injected so the domain stays deterministic in tests. */
export interface Clock {
  now(): Date;
}
export interface IdGenerator {
  newId(): string;
}

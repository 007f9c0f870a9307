import { ForbiddenException } from '@nestjs/common';
import { z } from 'zod';

/** What a caller may do: viewer reads, operator also starts and cancels runs, admin may do everything. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A tenant name as tokens and keys carry it: letters, digits and `._-`, so it can key an index. */
export const tenantSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or ._-');

/** Who called, as the bearer token says: never the token itself. */
export interface Principal {
  /** For logs and `requestedBy`: the API key's id or the JWT's `sub`. */
  subject: string;
  role: Role;
  /**
   * The caller's tenant. Absent only for an admin (a platform administrator), who reads every
   * tenant unless it names one with `?tenant=`.
   */
  tenant?: string;
}

/** Whether `role` includes everything `required` may do. */
export function hasRole(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** The highest of the roles named (unknown names are ignored), or undefined when none is known. */
export function highestRole(names: readonly unknown[]): Role | undefined {
  let best: Role | undefined;
  for (const name of names) {
    if (typeof name === 'string' && (ROLES as readonly string[]).includes(name) && (!best || hasRole(name as Role, best))) best = name as Role;
  }
  return best;
}

/**
 * The tenant a request acts for: undefined means every tenant (only a tenantless admin without
 * `?tenant=`). A caller bound to a tenant may name only its own (403 otherwise: it knows it asked
 * for another tenant, so nothing leaks).
 */
export function tenantScope(caller: Principal, requested: string | undefined): string | undefined {
  if (requested === undefined || requested === '') return caller.tenant;
  const parsed = tenantSchema.safeParse(requested);
  if (!parsed.success) throw new ForbiddenException(`tenant must be 1-64 letters, digits or ._-`);
  if (caller.tenant !== undefined && caller.tenant !== requested) throw new ForbiddenException(`this token may act for tenant ${caller.tenant} only`);
  return requested;
}

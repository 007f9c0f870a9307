import { describe, expect, it } from 'vitest';
import { jobOwnerOf, resubmissionClaim } from './job-params.js';

describe('jobOwnerOf', () => {
  const step = 'b7e3c1d2-0a4f-4e58-9c6b-2d1e0f9a8b7c';
  it("calls a task its step's while it has no job, runs as one of the step's array children, or is the step's single job", () => {
    expect(jobOwnerOf({}, step)).toBe('step');
    expect(jobOwnerOf({ jobId: `${step}:17` }, step)).toBe('step');
    expect(jobOwnerOf({ jobId: step }, step)).toBe('step');
  });
  it('tells a resubmission claim from a job of its own', () => {
    expect(jobOwnerOf({ jobId: resubmissionClaim('token') }, step)).toBe('claim');
    expect(jobOwnerOf({ jobId: '5f0c2a9e-1111-4e58-9c6b-2d1e0f9a8b7c' }, step)).toBe('alone');
  });
  it("does not take a job whose id merely starts like the step's for one of its children", () => {
    expect(jobOwnerOf({ jobId: `${step}x:1` }, step)).toBe('alone');
    expect(jobOwnerOf({ jobId: `${step}:3` }, undefined)).toBe('alone');
  });
});

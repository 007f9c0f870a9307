import type { Demand, Waiting } from './resource-scheduler.js';

/** AWS Batch's own reasons, so that `evaluateOnExit` rules written for AWS match here too. */
export const CONTAINER_EXITED = 'Essential container in task exited';
export const ATTEMPT_TIMED_OUT = 'Job attempt duration exceeded timeout';
export const TASK_FAILED_TO_START = 'Task failed to start';
export const ARRAY_CHILD_FAILED = 'Array Child Job failed';
/** A job it depends on FAILED, so the job FAILS without running. */
export const DEPENDENT_JOB_FAILED = 'Dependent Job failed';

/**
 * An attempt stopped because the environment shut down. Worded as AWS words a terminated instance
 * (`Host EC2 (instance i-...) terminated.`), so the common rule `onStatusReason: "Host EC2*"` ->
 * RETRY behaves here as it does in AWS.
 */
export function hostTerminated(computeEnvironmentName: string): string {
  return `Host EC2 (instance ${computeEnvironmentName}) terminated: the local compute environment shut down`;
}

/** A job larger than the whole environment: `can never run here: needs 16 vCPU / 512 MiB, the environment has 2 vCPU / 4096 MiB`. */
export function neverFits(demand: Demand, budget: Demand): string {
  return `can never run here: needs ${amount(demand)}, the environment has ${amount(budget)}`;
}

/**
 * Why a RUNNABLE job waits, computed when it is read:
 * `needs 4 vCPU / 8192 MiB; 2 of 2 vCPU / 1024 of 4096 MiB in use by 3 jobs; 12 jobs ahead in queue high`,
 * in a fair-share queue followed by `; share deskA holds 2 vCPU (weightFactor 0.5)`.
 */
export function waitingReason(demand: Demand, waiting: Waiting, inUse: Demand & { units: number }, budget: Demand): string {
  const parts = [
    `needs ${amount(demand)}`,
    `${vcpus(inUse.milliVcpus)} of ${vcpus(budget.milliVcpus)} vCPU / ${inUse.memoryMiB} of ${budget.memoryMiB} MiB in use by ${count(inUse.units, 'job')}`,
    `${count(waiting.ahead, 'job')} ahead in queue ${waiting.queue}`,
  ];
  if (waiting.share) parts.push(`share ${waiting.share.id} holds ${vcpus(waiting.share.milliVcpus)} vCPU (weightFactor ${waiting.share.weightFactor})`);
  return parts.join('; ');
}

/** Why a RUNNABLE job waits once the environment has shut down. */
export function shutDown(demand: Demand, computeEnvironmentName: string): string {
  return `needs ${amount(demand)}; compute environment ${computeEnvironmentName} has shut down and starts no jobs`;
}

function amount(demand: Demand): string {
  return `${vcpus(demand.milliVcpus)} vCPU / ${demand.memoryMiB} MiB`;
}

function vcpus(milli: number): string {
  return String(milli / 1000);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * What the API learns about a request as it goes (who is calling, which route template and operation it
 * is), kept beside the request rather than as fastify decorations so no global type is augmented.
 */
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/index.js';
import type { SitecastError } from '../kernel/index.js';

export interface RequestState {
  /** High-resolution start time, for the latency histogram. */
  start: bigint;
  principal?: Principal;
  /** Why authentication failed; thrown when the route needs the principal (writes audit it first). */
  authError?: SitecastError;
  /** Route template for metrics: `/AdminService/wmi/SMS_Package('{key}')`; bounded by the class list. */
  route?: string;
  /** What was attempted, for SMS_ExtendedStatus.Operation: `GET SMS_Package`, `SMS_Package.RefreshPkgSource`. */
  operation?: string;
}

const states = new WeakMap<FastifyRequest, RequestState>();

export function requestState(request: FastifyRequest): RequestState {
  let s = states.get(request);
  if (!s) {
    s = { start: process.hrtime.bigint() };
    states.set(request, s);
  }
  return s;
}

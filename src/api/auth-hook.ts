/**
 * Bearer-token authentication for everything under /AdminService. The hook only resolves the caller; the
 * route asks for the principal when it knows what is being attempted, so a write refused for want of a
 * token is still audited (with principal null) before the 401 goes out.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, type Permission, type Principal } from '../auth/index.js';
import { SitecastError, toSitecastError } from '../kernel/index.js';
import type { ApiSite } from './api-site.js';
import { requestState } from './request-state.js';

export const adminServicePrefix = '/AdminService';

export function installAuth(app: FastifyInstance, site: ApiSite): void {
  app.addHook('onRequest', async (request) => {
    const state = requestState(request);
    const path = request.url.split('?')[0]!;
    if (path !== adminServicePrefix && !path.startsWith(`${adminServicePrefix}/`)) return;
    try {
      state.principal = await site.tokens.authenticate(request.headers.authorization);
    } catch (e) {
      state.authError = e instanceof SitecastError ? e : toSitecastError(e, 'authentication');
    }
  });
}

/** The authenticated caller; throws the authentication failure (UNAUTHENTICATED, 401) otherwise. */
export function requirePrincipal(request: FastifyRequest): Principal {
  const state = requestState(request);
  if (state.principal) return state.principal;
  throw (
    state.authError ??
    new SitecastError('UNAUTHENTICATED', 'no credentials: send the header `Authorization: Bearer <token>`', {
      field: 'Authorization',
    })
  );
}

/** The caller, allowed to do `permission` (ACCESS_DENIED, 403, naming role and class otherwise). */
export function requirePermission(request: FastifyRequest, permission: Permission): Principal {
  const principal = requirePrincipal(request);
  authorize(principal, permission);
  return principal;
}

export { Roles, isRoleName, parseRole, type RoleName, type Principal } from './roles.js';
export { authorize, isAllowed, type Permission, type WriteOperation } from './authorize.js';
export { roleRules, securityClasses, type ClassSet, type RoleGrant } from './role-rules.js';
export { TokenService, type TokenInfo, type CreateTokenInput } from './token.service.js';
export { TokenRepository, type TokenRecord } from './token.repository.js';
export { TOKEN_PREFIX } from './token-secret.js';
export { AuditLog, type AuditRecordInput, type AuditFilter } from './audit-log.js';
export { AuditRepository, type AuditEntry, type AuditAction } from './audit.repository.js';

/**
 * The security classes: SMS_AdminToken (API bearer tokens: list without secrets, create returns the secret
 * once, delete revokes) and SMS_AdminAuditLog (read-only: every write and method call made through the API).
 * Who may touch them is src/auth's role table (tokens: Full Administrator only).
 */
import { sql } from 'kysely';
import { parseRole } from '../../auth/index.js';
import { SitecastError } from '../../kernel/index.js';
import { checkWritable, keyString, recordFromRow, requireString, type ApiClass } from '../class-model.js';
import { viewOf, viewProperties } from './view.js';

export const smsAdminTokenClass: ApiClass = {
  name: 'SMS_AdminToken',
  description: 'an API bearer token; the secret is returned once, by the create call',
  key: ['ID'],
  properties: viewProperties({
    ID: { type: 'int64' },
    Name: { type: 'string', access: 'create' },
    Role: {
      type: 'string',
      access: 'create',
      description: "'Full Administrator', 'Operations Administrator' or 'Read-only Analyst'",
    },
    Prefix: { type: 'string', description: 'the first characters of the token, to tell tokens apart' },
    CreatedTime: { type: 'datetime' },
    ExpiresTime: { type: 'datetime', access: 'create', description: 'null: never expires' },
    LastUsedTime: { type: 'datetime' },
    RevokedTime: { type: 'datetime' },
    IsRevoked: { type: 'bool' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('api_token as t')
        .select([
          't.id as ID',
          't.name as Name',
          't.role as Role',
          't.prefix as Prefix',
          't.created_at as CreatedTime',
          't.expires_at as ExpiresTime',
          't.last_used_at as LastUsedTime',
          't.revoked_at as RevokedTime',
          sql<number>`case when t.revoked_at is null then 0 else 1 end`.as('IsRevoked'),
        ]),
    ),
  toRecord: (row) => recordFromRow(smsAdminTokenClass, row),
  async create(ctx, body) {
    checkWritable(smsAdminTokenClass, body, 'create');
    let expiresAt: number | null = null;
    if (body.ExpiresTime !== undefined && body.ExpiresTime !== null) {
      expiresAt = typeof body.ExpiresTime === 'string' ? Date.parse(body.ExpiresTime) : NaN;
      if (Number.isNaN(expiresAt)) {
        throw new SitecastError('INVALID_PARAMETER', 'ExpiresTime must be an ISO 8601 date-time', {
          field: 'ExpiresTime',
        });
      }
    }
    const { token, info } = await ctx.site.tokens.create({
      name: requireString(body, 'Name'),
      role: parseRole(requireString(body, 'Role')),
      expiresAt,
    });
    return { key: { ID: info.id }, extra: { Token: token } };
  },
  async delete(ctx, key) {
    await ctx.site.tokens.revoke(Number(keyString(key, 'ID')));
  },
};

export const smsAdminAuditLogClass: ApiClass = {
  name: 'SMS_AdminAuditLog',
  description: 'who changed what through the API and how it ended (read-only)',
  key: ['ID'],
  properties: viewProperties({
    ID: { type: 'int64' },
    Time: { type: 'datetime' },
    PrincipalName: { type: 'string', description: 'the token name; null when nobody was authenticated' },
    TokenID: { type: 'int64' },
    Action: { type: 'string', description: 'create, update, delete or method' },
    ClassName: { type: 'string' },
    Target: { type: 'string', description: 'the instance key' },
    Method: { type: 'string' },
    Result: { type: 'int64', description: 'ReturnValue/HRESULT as unsigned 32-bit: 0 success' },
    Detail: { type: 'string' },
    RemoteAddress: { type: 'string' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('audit_log as a')
        .select([
          'a.id as ID',
          'a.time as Time',
          'a.principal_name as PrincipalName',
          'a.token_id as TokenID',
          'a.action as Action',
          'a.class_name as ClassName',
          'a.target as Target',
          'a.method as Method',
          'a.result as Result',
          'a.detail as Detail',
          'a.remote_address as RemoteAddress',
        ]),
    ),
  toRecord: (row) => recordFromRow(smsAdminAuditLogClass, row),
};

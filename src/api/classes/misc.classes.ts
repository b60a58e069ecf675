/** SMS_ImageInformation (rows of image packages), SMS_Site (this site) and SMS_ScheduleMethods (static only). */
import { hostname } from 'node:os';
import { sql } from 'kysely';
import { toImageInformation, toSmsImageInformation } from '../../catalog/index.js';
import type { ImageInfoTable } from '../../db/index.js';
import { readScheduleString, writeScheduleString, type SMS_ScheduleToken } from '../../schedule/index.js';
import { recordFromRow, type ApiClass, type ApiProperty } from '../class-model.js';
import { viewOf, viewProperties } from './view.js';

const img = (type: ApiProperty['type'], column: keyof ImageInfoTable, description?: string): ApiProperty => ({
  type,
  column: `image_info.${column}`,
  ...(description && { description }),
});

export const smsImageInformationClass: ApiClass = {
  name: 'SMS_ImageInformation',
  description: "one image index of an image package's WIM (read-only)",
  key: ['PackageID', 'Index'],
  properties: {
    PackageID: img('string', 'package_id'),
    Index: img('uint32', 'image_index', '1-based'),
    Name: img('string', 'name'),
    Description: img('string', 'description'),
    Edition: img('string', 'edition', 'WINDOWS/EDITIONID, else FLAGS (sitecast)'),
    Architecture: img('uint32', 'architecture', '0 x86, 5 ARM, 6 IA64, 9 x64, 12 ARM64'),
    ImageOSVersion: img('string', 'image_os_version', 'MAJOR.MINOR.BUILD.SPBUILD'),
    OSVersion: img('string', 'image_os_version'),
    Language: img('string', 'language'),
    HALType: img('string', 'hal_type'),
    ProductType: img('string', 'product_type'),
    Size: img('int64', 'size', 'bytes'),
    CreationDate: img('datetime', 'creation_date'),
    Version: img('string', 'version', "the package's Version"),
  },
  base: (site) => site.database.db.selectFrom('image_info').selectAll('image_info'),
  toRecord: (row) => {
    const info = toImageInformation(row as never);
    return { ...toSmsImageInformation(info), Edition: info.edition };
  },
};

const siteType = sql<number>`case s.role when 'cas' then 4 when 'secondary' then 1 else 2 end`;

export const smsSiteClass: ApiClass = {
  name: 'SMS_Site',
  description: 'the sites of the hierarchy this server knows (for now: itself)',
  key: ['SiteCode'],
  properties: viewProperties({
    SiteCode: { type: 'string' },
    SiteName: { type: 'string' },
    Type: { type: 'uint32', description: '1 secondary, 2 primary, 4 central administration site' },
    ReportingSiteCode: { type: 'string', description: 'the parent site, empty at the top' },
    ServerName: { type: 'string', filterable: false },
    Status: { type: 'uint32', description: '1 active' },
    InstallDate: { type: 'datetime' },
  }),
  base: (site) =>
    viewOf(
      site,
      site.database.db
        .selectFrom('site as s')
        .select([
          's.site_code as SiteCode',
          's.name as SiteName',
          siteType.as('Type'),
          sql<string>`''`.as('ReportingSiteCode'),
          sql<string>`''`.as('ServerName'),
          sql<number>`1`.as('Status'),
          's.created_at as InstallDate',
        ]),
    ),
  toRecord: (row) => ({ ...recordFromRow(smsSiteClass, row), ServerName: hostname() }),
};

export const smsScheduleMethodsClass: ApiClass = {
  name: 'SMS_ScheduleMethods',
  description: 'schedule-string conversion (reference §5); the class has no instances',
  key: [],
  properties: {},
  methods: [
    {
      name: 'ReadFromString',
      binding: 'static',
      description: 'schedule string (16 hex digits per token) → SMS_ScheduleToken objects',
      params: { StringData: { type: 'string', required: true } },
      out: { TokenData: 'object[]' },
      // The empty string is a valid schedule (no tokens); checkParams made sure it is a string.
      run: (_ctx, p) => Promise.resolve({ TokenData: readScheduleString(p.StringData as string) }),
    },
    {
      name: 'WriteToString',
      binding: 'static',
      description: 'SMS_ScheduleToken objects → schedule string',
      params: { TokenData: { type: 'object[]', required: true } },
      out: { StringData: 'string' },
      run: (_ctx, p) =>
        Promise.resolve({ StringData: writeScheduleString(p.TokenData as SMS_ScheduleToken[]) }),
    },
  ],
};

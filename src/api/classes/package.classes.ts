/**
 * SMS_Package (type 0) and SMS_ImagePackage (type 257), reference §1–2: rows from the `package` table,
 * mapped with the catalog's own toPackage → toSmsPackage, written through PackageService and
 * DistributionService.
 */
import { sql } from 'kysely';
import { PackageType, toPackage, toSmsPackage, type Package } from '../../catalog/index.js';
import { DpState } from '../../distribution/index.js';
import type { PackageTable } from '../../db/index.js';
import { SitecastError } from '../../kernel/index.js';
import type { ApiSite } from '../api-site.js';
import {
  checkWritable,
  keyString,
  requireString,
  type ApiClass,
  type ApiContext,
  type ApiMethod,
  type ApiProperty,
  type BaseQuery,
} from '../class-model.js';
import { dpTargets } from './method-params.js';

const col = (name: keyof PackageTable): string => `package.${name}`;
const rw = (type: ApiProperty['type'], column: keyof PackageTable, description?: string): ApiProperty => ({
  type,
  column: col(column),
  access: 'rw',
  ...(description && { description }),
});
const ro = (type: ApiProperty['type'], column: keyof PackageTable, description?: string): ApiProperty => ({
  type,
  column: col(column),
  ...(description && { description }),
});

const packageProperties: Readonly<Record<string, ApiProperty>> = {
  PackageID: ro('string', 'package_id', 'site code + 5 hex digits, e.g. PS100039'),
  PackageType: ro('uint32', 'package_type', '0 package, 257 image package'),
  Name: rw('string', 'name'),
  Version: rw('string', 'version'),
  Description: rw('string', 'description'),
  Manufacturer: rw('string', 'manufacturer'),
  Language: rw('string', 'language'),
  PkgSourcePath: rw('string', 'pkg_source_path', 'folder, or .wim file for an image package'),
  PkgSourceFlag: rw('uint32', 'pkg_source_flag', '1 no source, 2 direct'),
  PkgFlags: rw('uint32', 'pkg_flags'),
  Priority: rw('uint32', 'priority', '1 high, 2 normal, 3 low'),
  SourceVersion: ro('uint32', 'source_version', '+1 per refresh that produced a version'),
  StoredPkgVersion: rw('uint32', 'stored_pkg_version'),
  SourceDate: ro('datetime', 'source_date'),
  LastRefreshTime: ro('datetime', 'last_refresh_time'),
  SourceSite: ro('string', 'source_site', 'the site that owns (refreshes) the package'),
  RefreshSchedule: rw(
    'object[]',
    'refresh_schedule',
    'SMS_ScheduleToken[] (at most 15; PkgSourceFlag 2 only)',
  ),
  RefreshPkgSourceFlag: {
    type: 'bool',
    column: col('package_id'),
    filterable: false,
    access: 'rw',
    description: 'writing true = RefreshPkgSource(); always reads false',
  },
  ActionInProgress: ro('uint32', 'action_in_progress', '0 none, 1 update, 2 add, 3 delete'),
  SedoObjectVersion: {
    ...ro('string', 'sedo_object_version', 'optimistic-concurrency token (also the ETag)'),
    filterable: false,
  },
  ForcedDisconnectEnabled: rw('bool', 'forced_disconnect_enabled'),
  ForcedDisconnectDelay: rw('uint32', 'forced_disconnect_delay'),
  ForcedDisconnectNumRetries: rw('uint32', 'forced_disconnect_num_retries'),
  PackageSize: ro('uint32', 'package_size_kb', 'KB'),
};

const imageProperties: Readonly<Record<string, ApiProperty>> = {
  ...packageProperties,
  ImageIndex: rw('uint32', 'image_index', 'the image index of the WIM the package deploys'),
  ImageProperty: { ...ro('string', 'image_property', 'XML of the WIM image metadata (lazy)'), lazy: true },
};

const listColumns = Object.values(imageProperties)
  .map((p) => p.column)
  .filter((c, i, all) => c !== col('image_property') && all.indexOf(c) === i);

function packageBase(type: number) {
  return (site: ApiSite, { lazy }: { readonly lazy: boolean }): BaseQuery => {
    const q = site.database.db.selectFrom('package').where('package.package_type', '=', type);
    // ImageProperty is a few KB of XML per image: only single-instance reads fetch it.
    return lazy
      ? q.selectAll('package')
      : q
          .select(listColumns.map((c) => sql.ref(c).as(c.slice('package.'.length))))
          .select(sql<null>`null`.as('image_property'));
  };
}

/** The package behind `key`, which must be of the class's type (NOT_FOUND otherwise). */
async function packageOf(site: ApiSite, cls: string, type: number, id: string): Promise<Package> {
  const pkg = await site.packages.find(id);
  if (!pkg || pkg.packageType !== type) {
    throw new SitecastError('NOT_FOUND', `${cls} ${JSON.stringify(id)} does not exist`, {
      field: 'PackageID',
    });
  }
  return pkg;
}

function packageClass(name: 'SMS_Package' | 'SMS_ImagePackage', type: number, description: string): ApiClass {
  const properties = type === PackageType.SMS_ImagePackage ? imageProperties : packageProperties;
  const own = async (ctx: ApiContext, id: string): Promise<Package> => packageOf(ctx.site, name, type, id);
  // Clients echo PackageType/PackageID/SedoObjectVersion back; accept them when they agree.
  const strip = (body: Readonly<Record<string, unknown>>, pkg?: Package): Record<string, unknown> => {
    const rest: Record<string, unknown> = { ...body };
    if (rest.PackageType === type) delete rest.PackageType;
    if (pkg && rest.PackageID === pkg.packageId) delete rest.PackageID;
    delete rest.SedoObjectVersion;
    return rest;
  };
  const cls: ApiClass = {
    name,
    description,
    properties,
    key: ['PackageID'],
    base: packageBase(type),
    toRecord: (row, { lazy }) => toSmsPackage(toPackage(row as never), { lazy }),
    etag: (r) => `W/"${String(r.SedoObjectVersion)}"`,
    async create(ctx, body) {
      const props = strip(body);
      checkWritable(cls, props, 'create');
      const pkg = await ctx.site.packages.create(type, props as never);
      return { key: { PackageID: pkg.packageId } };
    },
    async update(ctx, key, body, expectedEtag) {
      const pkg = await own(ctx, keyString(key, 'PackageID'));
      const props = strip(body, pkg);
      checkWritable(cls, props, 'update');
      const fromBody = typeof body.SedoObjectVersion === 'string' ? body.SedoObjectVersion : undefined;
      const sedo = expectedEtag?.replace(/^W\//, '').replace(/"/g, '') ?? fromBody;
      const { refreshRequested } = await ctx.site.packages.update(pkg.packageId, props, sedo);
      if (refreshRequested) await ctx.site.distribution.refreshPkgSource(pkg.packageId);
      return { PackageID: pkg.packageId };
    },
    async delete(ctx, key) {
      const pkg = await own(ctx, keyString(key, 'PackageID'));
      await ctx.site.distribution.deletePackage(pkg.packageId);
    },
    methods: [...packageMethods(own), ...(type === PackageType.SMS_ImagePackage ? imageMethods(own) : [])],
  };
  return cls;
}

type Own = (ctx: ApiContext, id: string) => Promise<Package>;

function instance(
  name: string,
  description: string,
  params: ApiMethod['params'],
  run: (
    ctx: ApiContext,
    pkg: Package,
    params: Readonly<Record<string, unknown>>,
  ) => Promise<Record<string, unknown>>,
  own: Own,
  out?: ApiMethod['out'],
): ApiMethod {
  return {
    name,
    binding: 'instance',
    description,
    params,
    ...(out && { out }),
    run: async (ctx, p, key) => run(ctx, await own(ctx, keyString(key!, 'PackageID')), p),
  };
}

function packageMethods(own: Own): ApiMethod[] {
  return [
    instance(
      'RefreshPkgSource',
      'snapshot the source, SourceVersion + 1, send the changes to every DP of the package (asynchronous)',
      {},
      async (ctx, pkg) => {
        const job = await ctx.site.distribution.refreshPkgSource(pkg.packageId);
        return { JobID: job.id, Coalesced: job.coalesced };
      },
      own,
      { JobID: 'int64', Coalesced: 'bool' },
    ),
    instance(
      'AddDistributionPoints',
      'target the package to DPs (parallel arrays SiteCode[i], NALPath[i]); content is sent',
      {
        SiteCode: { type: 'string[]', description: 'site code of each DP (optional; checked when given)' },
        NALPath: { type: 'string[]', required: true, description: 'NALPath (or name) of each DP' },
      },
      async (ctx, pkg, p) => {
        const nalPaths = await dpTargets(ctx.site, p, 'NALPath', 'SiteCode');
        await ctx.site.distribution.addDistributionPoints(pkg.packageId, nalPaths);
        return {};
      },
      own,
    ),
    instance(
      'SetSourceSite',
      'move ownership (the site allowed to refresh the package) to another site',
      { SourceSite: { type: 'string', required: true } },
      async (ctx, pkg, p) => {
        await ctx.site.packages.setSourceSite(pkg.packageId, requireString(p, 'SourceSite'));
        return {};
      },
      own,
    ),
    instance(
      'Unlock',
      'move ownership to this site',
      {},
      async (ctx, pkg) => {
        await ctx.site.packages.setSourceSite(pkg.packageId, ctx.site.siteCode);
        return {};
      },
      own,
    ),
    instance(
      'AddChangeNotification',
      'process the package again: every DP not holding its current version gets it (missing parts only)',
      {},
      async (ctx, pkg) => {
        let processed = 0;
        if (pkg.sourceVersion > 0) {
          for (const row of await ctx.site.status.distPointStatus(pkg.packageId)) {
            const removing = row.State >= DpState.REMOVAL_PENDING && row.State <= DpState.REMOVAL_FAILED;
            const current = row.State === DpState.INSTALLED && row.SourceVersion === pkg.sourceVersion;
            if (removing || current) continue;
            await ctx.site.distribution.refreshNow(pkg.packageId, row.ServerNALPath);
            processed++;
          }
        }
        return { Processed: processed };
      },
      own,
      { Processed: 'uint32' },
    ),
  ];
}

function imageMethods(own: Own): ApiMethod[] {
  return [
    {
      name: 'GetImageProperties',
      binding: 'static',
      description: 'read a .wim and return its metadata XML, creating nothing',
      params: { SourceImagePath: { type: 'string', required: true, description: 'absolute path of a .wim' } },
      out: { ImageProperty: 'string' },
      run: async (ctx, p) => ctx.site.images.getImageProperties(requireString(p, 'SourceImagePath')),
    },
    instance(
      'ReloadImageProperties',
      "re-read the package's WIM: ImageProperty and SMS_ImageInformation rows (SourceVersion unchanged)",
      {},
      async (ctx, pkg) => {
        await ctx.site.images.reloadImageProperties(pkg.packageId);
        return {};
      },
      own,
    ),
  ];
}

export const smsPackageClass = packageClass(
  'SMS_Package',
  PackageType.SMS_Package,
  'a software package (type 0)',
);
export const smsImagePackageClass = packageClass(
  'SMS_ImagePackage',
  PackageType.SMS_ImagePackage,
  'an operating-system image package (type 257): a .wim file as source',
);

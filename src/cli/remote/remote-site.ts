/**
 * A CliSite over the AdminService REST API: each service method is one REST call (or a lookup and one
 * call), answering the same domain objects as the local services, failing with the same SitecastError
 * codes (the server's error JSON is mapped back by AdminClient).
 */
import { PackageType, type CreatePackageInput, type Package } from '../../catalog/index.js';
import type { DistPointStatus, DistributionPoint } from '../../distribution/index.js';
import { isSitecastError, SitecastError } from '../../kernel/index.js';
import type { CliSite } from '../cli-site.js';
import { AdminClient, odataString, type AdminClientOptions, type SmsRecord } from './admin-client.js';
import { remoteAdmin, remoteDpGroups, remoteDpSettings, notRemote } from './remote-services.js';
import {
  contentExtraInfoOf,
  distPointStatusOf,
  distributionPointOf,
  imageInformationOf,
  jobOf,
  packageOf,
  statusMessageOf,
} from './sms-records.js';

const packageIdPattern = /^[A-Z0-9]{3}[0-9A-F]{5}$/;
const classOfType = (type: number): string =>
  type === PackageType.SMS_ImagePackage ? 'SMS_ImagePackage' : 'SMS_Package';

/** Opens a remote site: checks the server answers and the token is accepted (one read), learns the site code. */
export async function openRemoteSite(options: AdminClientOptions): Promise<CliSite> {
  const client = new AdminClient(options);
  const [site] = await client.list('SMS_Site', { $top: '1' });
  return remoteSite(client, typeof site?.SiteCode === 'string' ? site.SiteCode : '');
}

export function remoteSite(client: AdminClient, siteCode: string): CliSite {
  const filterEq = (prop: string, value: string): Record<string, string> => ({
    $filter: `${prop} eq ${odataString(value)}`,
  });

  const findPackage = async (packageId: string): Promise<Package> => {
    if (packageIdPattern.test(packageId)) {
      for (const cls of ['SMS_ImagePackage', 'SMS_Package']) {
        try {
          return packageOf(await client.get(cls, packageId));
        } catch (e) {
          if (!isSitecastError(e, 'NOT_FOUND')) throw e;
        }
      }
    }
    // The local service's words, so a typo reads the same whichever site answered.
    throw new SitecastError(
      'NOT_FOUND',
      packageIdPattern.test(packageId)
        ? `package ${packageId} does not exist`
        : `package ${JSON.stringify(packageId)} does not exist (a PackageID is a site code and 5 hex digits, e.g. PS100039)`,
      { field: 'PackageID', packageId },
    );
  };
  const packageClass = async (packageId: string): Promise<string> =>
    classOfType((await findPackage(packageId)).packageType);

  const dpRecords = (): Promise<SmsRecord[]> =>
    client.list('SMS_DistributionPointInfo', { $orderby: 'Name' });
  /** By name, server name or NALPath, case-insensitively, as DpRegistry.get. */
  const getDp = async (ref: string | number): Promise<DistributionPoint> => {
    const wanted = String(ref).toLowerCase();
    const r = (await dpRecords()).find((d) =>
      ['Name', 'ServerName', 'NALPath'].some((k) => String(d[k]).toLowerCase() === wanted),
    );
    if (!r) {
      throw new SitecastError('NOT_FOUND', `distribution point ${JSON.stringify(ref)} does not exist`, {
        field: 'NALPath',
        dp: ref,
      });
    }
    return distributionPointOf(r);
  };
  const targetKey = async (packageId: string, dpRef: string): Promise<Record<string, string>> => {
    await findPackage(packageId);
    return { PackageID: packageId, ServerNALPath: (await getDp(dpRef)).nalPath };
  };

  /**
   * `work` beside the package check, not after it (one round trip less); an unknown package still fails with
   * the check's words, whatever `work` met.
   */
  const ofPackage = async <T>(packageId: string, work: () => Promise<T>): Promise<T> => {
    const [pkg, result] = await Promise.allSettled([findPackage(packageId), work()]);
    if (pkg.status === 'rejected') throw pkg.reason;
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  };

  const summarizerRows = async (packageId: string): Promise<DistPointStatus[]> => {
    const rows = await ofPackage(packageId, () =>
      client.list('SMS_PackageStatusDistPointsSummarizer', filterEq('PackageID', packageId)),
    );
    return rows.map(distPointStatusOf);
  };

  return {
    siteCode,
    packages: {
      async create(packageType: number, input: CreatePackageInput) {
        return packageOf(await client.create(classOfType(packageType), { ...input }));
      },
      get: findPackage,
      async list(filter = {}) {
        const classes =
          filter.packageType === undefined
            ? ['SMS_Package', 'SMS_ImagePackage']
            : [classOfType(filter.packageType)];
        const records = (await Promise.all(classes.map((c) => client.list(c)))).flat();
        return records.map(packageOf).sort((a, b) => a.packageId.localeCompare(b.packageId));
      },
      async update(packageId: string, input: unknown, sedoObjectVersion?: string) {
        const current = await findPackage(packageId);
        const { RefreshPkgSourceFlag: refresh, ...props } = (input ?? {}) as Record<string, unknown>;
        // The refresh is the caller's next call (RefreshPkgSource), as with the local service.
        const body = {
          ...props,
          ...(sedoObjectVersion !== undefined && { SedoObjectVersion: sedoObjectVersion }),
        };
        const pkg =
          Object.keys(props).length === 0 && sedoObjectVersion === undefined
            ? current
            : packageOf(await client.update(classOfType(current.packageType), packageId, body));
        return { package: pkg, refreshRequested: refresh === true };
      },
      async listImages(packageId: string) {
        await findPackage(packageId);
        const rows = await client.list('SMS_ImageInformation', {
          ...filterEq('PackageID', packageId),
          $orderby: 'Index',
        });
        return rows.map(imageInformationOf);
      },
    },
    dps: {
      get: getDp,
      async list() {
        return (await dpRecords()).map(distributionPointOf);
      },
      async addLocal(input) {
        const r = await client.create('SMS_DistributionPointInfo', {
          Name: input.name,
          Path: input.root,
          ...(input.priority !== undefined && { Priority: input.priority }),
        });
        return distributionPointOf(r);
      },
      async addHttp(input) {
        if (input.pull) throw notRemote('dp add --pull', 'the AdminService cannot create pull DPs yet');
        const r = await client.create('SMS_DistributionPointInfo', {
          Name: input.name,
          Url: input.url,
          Secret: input.secret,
          AllowOffline: input.allowOffline === true,
          ...(input.priority !== undefined && { Priority: input.priority }),
        });
        // The server probed the agent; it does not say how that went when AllowOffline let the DP in.
        return { dp: distributionPointOf(r), probe: null };
      },
      async remove(ref) {
        await client.delete('SMS_DistributionPointInfo', (await getDp(ref)).nalPath);
      },
      setPullSources() {
        return Promise.reject(notRemote('dp sources', 'the AdminService cannot change pull sources yet'));
      },
    },
    distribution: {
      async addDistributionPoints(packageId, dpRefs) {
        await client.call(
          await packageClass(packageId),
          'AddDistributionPoints',
          { NALPath: [...dpRefs] },
          packageId,
        );
      },
      async refreshPkgSource(packageId) {
        const out = await client.call(await packageClass(packageId), 'RefreshPkgSource', {}, packageId);
        return { id: Number(out.JobID ?? 0), coalesced: out.Coalesced === true };
      },
      async deletePackage(packageId) {
        await client.delete(await packageClass(packageId), packageId);
      },
      redistribute() {
        return Promise.reject(
          notRemote(
            'content redistribute',
            'use `content refresh` or `dp-group redistribute` against a remote site',
          ),
        );
      },
      async refreshNow(packageId, dpRef) {
        await client.update('SMS_DistributionPoint', await targetKey(packageId, dpRef), { RefreshNow: true });
      },
      async removeContent(packageId, dpRef) {
        await client.delete('SMS_DistributionPoint', await targetKey(packageId, dpRef));
      },
      async cancelDistribution(packageId, dpRef) {
        await client.call('SMS_DistributionPoint', 'CancelDistribution', {
          PackageId: packageId,
          NALPath: dpRef,
        });
      },
      async verifyPackage(packageId, dpRef) {
        const out = await client.call('SMS_DistributionPoint', 'VerifyPackage', {
          PackageId: packageId,
          NALPath: dpRef,
        });
        return { jobId: Number(out.JobID ?? 0) };
      },
    },
    status: {
      async contentExtraInfo(packageId) {
        return contentExtraInfoOf(
          await ofPackage(packageId, () => client.get('SMS_ObjectContentExtraInfo', packageId)),
        );
      },
      distPointStatus: summarizerRows,
      // The API's one per-DP view; rows that descendant sites report are not in it (yet).
      hierarchyDpStatus: summarizerRows,
      async messages(packageId, limit = 50) {
        const rows = await client.list('SMS_DistributionDPStatus', {
          ...filterEq('PackageID', packageId),
          $orderby: 'RecordID desc',
          $top: String(limit),
        });
        return rows.map(statusMessageOf);
      },
    },
    queue: {
      async list(filter = {}) {
        const query: Record<string, string> = { $orderby: 'ID' };
        const clauses = [
          filter.packageId !== undefined && `PackageID eq ${odataString(filter.packageId)}`,
          filter.state !== undefined && `State eq ${odataString(filter.state)}`,
          filter.kind !== undefined && `Kind eq ${odataString(filter.kind)}`,
        ].filter((c): c is string => typeof c === 'string');
        if (clauses.length > 0) query.$filter = clauses.join(' and ');
        return (await client.list('SMS_AdminJob', query)).map(jobOf);
      },
    },
    dpGroups: remoteDpGroups(client, getDp),
    dpSettings: remoteDpSettings(client, getDp),
    ...remoteAdmin(client),
    async packagesOnDp(dp) {
      const rows = await client.list('SMS_DistributionPoint', {
        ...filterEq('ServerNALPath', dp.nalPath),
        $orderby: 'PackageID',
      });
      return rows.map((r) => String(r.PackageID));
    },
  };
}

/**
 * The JSON shapes of `/site/v1` (design §4, §6), shared by the routes (which answer them) and the site
 * client (which checks every answer with them rather than trusting a peer).
 */
import { z } from 'zod';

export const SITE_API_PREFIX = '/site/v1';
/** Names the calling site; the receiver verifies the signature with that link's secret. */
export const SITE_HEADER = 'x-sitecast-site';

const siteCode = z.string().regex(/^[A-Z0-9]{3}$/, 'must be 3 upper-case letters or digits');
const packageId = z.string().regex(/^[A-Z0-9]{3}[0-9A-F]{5}$/, 'must be a PackageID like PS100001');
const chunkId = z.string().regex(/^[0-9a-f]{64}$/);
const uint = z.number().int().nonnegative();
const childRole = z.enum(['primary', 'secondary']);

export const joinRequest = z.object({
  siteCode,
  role: childRole,
  /** Where the parent reaches the child's `/site/v1`. */
  url: z.string().url().max(2048),
  version: z.string().max(64),
});
export const joinResponse = z.object({
  parentSiteCode: siteCode,
  parentRole: z.enum(['cas', 'primary', 'secondary']),
  /** The per-link secret: every later call either way is signed with it. */
  linkSecret: z.string().min(16).max(256),
});

/** The SMS_Package properties that flow down; local-only ones (schedule, ActionInProgress) do not. */
export const packageMeta = z.object({
  PackageID: packageId,
  PackageType: uint,
  Name: z.string(),
  Version: z.string(),
  Description: z.string(),
  Manufacturer: z.string(),
  Language: z.string(),
  PkgSourcePath: z.string().nullable(),
  PkgSourceFlag: uint,
  PkgFlags: uint,
  Priority: z.number().int().min(1).max(3),
  SourceSite: siteCode,
  ImageProperty: z.string().nullable(),
  ImageIndex: uint.nullable(),
  ForcedDisconnectEnabled: z.boolean(),
  ForcedDisconnectDelay: uint,
  ForcedDisconnectNumRetries: uint,
});
export type PackageMeta = z.infer<typeof packageMeta>;

export const metadataResponse = z.object({
  /** The SourceVersion the child holds (0: none). */
  heldVersion: uint,
  /** True when a DP at the child or below it is targeted with the package: content must follow. */
  wantsContent: z.boolean(),
});

export const missingRequest = z.object({ packageId, ids: z.array(chunkId).max(200_000) });
export const missingResponse = z.object({ missing: z.array(chunkId) });
export const batchResponse = z.object({ stored: uint });

export const activateRequest = z
  .object({
    manifestId: chunkId,
    /** The manifest's canonical bytes, base64. */
    manifest: z.string().min(1).optional(),
    /** Or: the manifest as a delta against one the child holds (content/manifest-delta.ts), base64. */
    manifestDelta: z.string().min(1).optional(),
    totalBytes: uint,
    fileCount: uint,
    chunkCount: uint,
    /** Bytes the parent sent for this version (for message 4400). */
    bytesSent: uint,
  })
  .refine((b) => (b.manifest === undefined) !== (b.manifestDelta === undefined), {
    message: 'exactly one of manifest and manifestDelta is required',
    path: ['manifest'],
  });
export const activateResponse = z.object({ sourceVersion: uint, applied: z.boolean() });

export const dpStatusRow = z.object({
  PackageID: packageId,
  ServerNALPath: z.string(),
  ServerName: z.string(),
  SiteCode: siteCode,
  State: z.number().int(),
  StateName: z.string(),
  SourceVersion: uint,
  TargetVersion: uint,
  LastCopied: z.string().nullable(),
  SummaryDate: z.string(),
  BytesTotal: uint,
  BytesDone: uint,
  BytesSent: uint,
  TransferRate: z.number().nonnegative(),
  Attempts: uint,
  LastError: z.string().nullable(),
  WaitReason: z.string().nullable(),
  ResumeAt: z.string().nullable(),
});

export const reportedSite = z.object({
  siteCode,
  parentCode: siteCode,
  role: z.enum(['primary', 'secondary']),
  packages: z.array(z.object({ packageId, sourceVersion: uint })),
});
export type ReportedSite = z.infer<typeof reportedSite>;

/** A child's status for its whole branch: itself and its descendants, every DP of every package. */
export const statusReport = z.object({
  siteCode,
  version: z.string().max(64),
  sites: z.array(reportedSite),
  dps: z.array(dpStatusRow),
});
export type StatusReport = z.infer<typeof statusReport>;
export const statusResponse = z.object({ ok: z.literal(true), queued: uint });

export const helloResponse = z.object({ siteCode, role: z.enum(['cas', 'primary', 'secondary']) });

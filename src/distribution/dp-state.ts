/** Per package × DP state codes and status messages, as in reference §3. */

/** `SMS_PackageStatusDistPointsSummarizer.State`. */
export const DpState = {
  INSTALLED: 0,
  INSTALL_PENDING: 1,
  INSTALL_RETRYING: 2,
  INSTALL_FAILED: 3,
  REMOVAL_PENDING: 4,
  REMOVAL_RETRYING: 5,
  REMOVAL_FAILED: 6,
  CONTENT_UPDATING: 7,
  CONTENT_MONITORING: 8,
} as const;
export type DpStateCode = (typeof DpState)[keyof typeof DpState];

export function dpStateName(code: number): string {
  return Object.entries(DpState).find(([, v]) => v === code)?.[0] ?? `UNKNOWN(${code})`;
}

/** How `SMS_ObjectContentExtraInfo` counts a state. */
export function dpStateBucket(code: number): 'success' | 'inProgress' | 'error' | 'unknown' {
  switch (code) {
    case DpState.INSTALLED:
      return 'success';
    case DpState.INSTALL_PENDING:
    case DpState.INSTALL_RETRYING:
    case DpState.REMOVAL_PENDING:
    case DpState.REMOVAL_RETRYING:
    case DpState.CONTENT_UPDATING:
    case DpState.CONTENT_MONITORING:
      return 'inProgress';
    case DpState.INSTALL_FAILED:
    case DpState.REMOVAL_FAILED:
      return 'error';
    default:
      return 'unknown';
  }
}

/** `SMS_DistributionPoint.Status`. */
export const DpTargetStatus = { None: 0, Updated: 1, Added: 2, Deleted: 3 } as const;

/** `SMS_DistributionDPStatus.MessageState`. */
export const MessageState = { Success: 1, InProgress: 2, Error: 3 } as const;

export const Severity = { Informational: 0x40000000, Warning: 0x80000000, Error: 0xc0000000 } as const;

/**
 * Status message IDs. The first six are Configuration Manager's own (reference §3); the rest are
 * (our choice) numbers from the same distribution-manager range for events the reference does not name.
 */
export const MessageId = {
  PACKAGE_PROCESSED: 2301,
  PACKAGE_FAILED: 2302,
  PACKAGE_UPDATED: 2311,
  DISTRIBUTED_TO_DP: 2330,
  SNAPSHOT_CREATED: 2376,
  TRANSFER_FINISHED: 8200,
  DP_RETRYING: 2331,
  DP_FAILED: 2332,
  VALIDATION_SUCCEEDED: 2384,
  VALIDATION_FAILED: 2388,
  REMOVED_FROM_DP: 2342,
  DISTRIBUTION_CANCELLED: 2399,
  /** A child site received a package version from its parent (reference §3). */
  CONTENT_RECEIVED_AT_SITE: 4400,
} as const;

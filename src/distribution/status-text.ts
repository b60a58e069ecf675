/** Human text of status messages, filled from their insertion strings (what the console and CLI show). */
import { MessageId } from './dp-state.js';

const templates: Record<number, string> = {
  [MessageId.PACKAGE_PROCESSED]:
    'Distribution Manager successfully processed package "%1" (SourceVersion %2).',
  [MessageId.PACKAGE_FAILED]: 'Distribution Manager failed to process package "%1": %2',
  [MessageId.PACKAGE_UPDATED]: 'Distribution Manager successfully created or updated package "%1".',
  [MessageId.SNAPSHOT_CREATED]:
    'Distribution Manager created a snapshot of package "%1" from source %2 (SourceVersion %3, %4 bytes, %5 new).',
  [MessageId.DISTRIBUTED_TO_DP]:
    'Distribution Manager successfully distributed package "%1" (SourceVersion %2) to distribution point "%3".',
  [MessageId.TRANSFER_FINISHED]:
    'Transfer of package "%1" to distribution point "%2" finished: %3 bytes sent of %4.',
  [MessageId.DP_RETRYING]:
    'Distribution Manager failed to distribute package "%1" to "%2" (attempt %3); it will retry: %4',
  [MessageId.DP_FAILED]: 'Distribution Manager failed to distribute package "%1" to "%2": %3',
  [MessageId.VALIDATION_SUCCEEDED]:
    'Package "%1" (SourceVersion %2) on distribution point "%3" was validated: %4 bytes verified.',
  [MessageId.VALIDATION_FAILED]: 'Content validation of package "%1" on distribution point "%2" failed: %3',
  [MessageId.REMOVED_FROM_DP]: 'Package "%1" was removed from distribution point "%2".',
  [MessageId.DISTRIBUTION_CANCELLED]:
    'Distribution of package "%1" to "%2" was cancelled by an administrator.',
  [MessageId.CONTENT_RECEIVED_AT_SITE]:
    'Site %2 received package "%1" (SourceVersion %3) from parent site %4: %5 bytes sent of %6.',
};

export function statusMessageText(messageId: number, insertionStrings: readonly string[]): string {
  const t = templates[messageId];
  if (!t) return `Message ${messageId}: ${insertionStrings.join(', ')}`;
  return t.replace(/%(\d)/g, (_, n: string) => insertionStrings[Number(n) - 1] ?? '');
}

import type { Command } from 'commander';
import type { Act } from './command-kit.js';
import { renderDpTable } from './dp-status-table.js';
import { intArg } from './command-kit.js';
import { renderTable } from './table.js';
import { formatBytes, formatTime } from './units.js';

interface StatusOptions {
  readonly messages: number;
}

/** `status <PackageID>` = Get-CMDistributionStatus: the package summary, every DP, the latest messages. */
export function registerStatusCommand(program: Command, act: Act): void {
  program
    .command('status')
    .description(
      'Get-CMDistributionStatus: summary, per-DP state and transfer figures, latest status messages',
    )
    .argument('<PackageID>')
    .option('--messages <n>', 'how many status messages to show', intArg('--messages', 0, 1000), 8)
    .action(
      act(async (ctx, packageId: string, o: StatusOptions) => {
        const site = await ctx.site();
        const info = await site.status.contentExtraInfo(packageId);
        const rows = await site.status.distPointStatus(packageId);
        const messages = o.messages > 0 ? await site.status.messages(packageId, o.messages) : [];
        ctx.result(
          () => ({
            SMS_ObjectContentExtraInfo: info,
            SMS_PackageStatusDistPointsSummarizer: rows,
            SMS_DistributionDPStatus: messages,
          }),
          () => {
            const summary = renderTable(
              [
                { header: 'PackageID' },
                { header: 'Name' },
                { header: 'Targeted', align: 'right' },
                { header: 'Success', align: 'right' },
                { header: 'InProgress', align: 'right' },
                { header: 'Errors', align: 'right' },
                { header: 'Unknown', align: 'right' },
                { header: 'SourceVersion', align: 'right' },
                { header: 'SourceSize', align: 'right' },
              ],
              [
                [
                  info.ObjectID,
                  info.SoftwareName,
                  String(info.Targeted),
                  String(info.NumberSuccess),
                  String(info.NumberInProgress),
                  String(info.NumberErrors),
                  String(info.NumberUnknown),
                  String(info.SourceVersion),
                  formatBytes(info.SourceSize * 1024),
                ],
              ],
            );
            const recent =
              messages.length === 0
                ? ''
                : '\nLatest status messages\n' +
                  renderTable(
                    [
                      { header: 'ID', align: 'right' },
                      { header: 'Time (UTC)' },
                      { header: 'DP' },
                      { header: 'Text' },
                    ],
                    messages.map((m) => [
                      String(m.MessageID),
                      formatTime(m.Time),
                      m.ServerName ?? '',
                      m.Text,
                    ]),
                  );
            return `${summary}\n${renderDpTable(rows)}${recent}`;
          },
        );
      }),
    );
}

import type { Command } from 'commander';
import { PackageType, toSmsPackage } from '../catalog/index.js';
import { intArg, type Act } from './command-kit.js';

interface ImageNewOptions {
  readonly name: string;
  readonly path: string;
  readonly index?: number;
  readonly version?: string;
  readonly description?: string;
  readonly priority?: number;
}

/** `image new` = New-CMOperatingSystemImage. */
export function registerImageCommands(program: Command, act: Act): void {
  const image = program.command('image').description('OS image packages (SMS_ImagePackage)');
  image
    .command('new')
    .description(
      'create an image package from a .wim file (New-CMOperatingSystemImage); prints its PackageID',
    )
    .requiredOption('--name <name>', 'Name')
    .requiredOption('--path <file.wim>', 'PkgSourcePath: absolute path of the .wim file')
    .option('--index <n>', 'ImageIndex: which image of the WIM (1-based)', intArg('--index', 1))
    .option('--version <text>', 'Version')
    .option('--description <text>', 'Description')
    .option('--priority <1|2|3>', 'Priority: 1 high, 2 normal (default), 3 low', intArg('--priority', 1, 3))
    .action(
      act(async (ctx, o: ImageNewOptions) => {
        const site = await ctx.site();
        const pkg = await site.packages.create(PackageType.SMS_ImagePackage, {
          Name: o.name,
          PkgSourcePath: o.path,
          ...(o.index !== undefined && { ImageIndex: o.index }),
          ...(o.version !== undefined && { Version: o.version }),
          ...(o.description !== undefined && { Description: o.description }),
          ...(o.priority !== undefined && { Priority: o.priority as 1 | 2 | 3 }),
        });
        ctx.result(
          () => toSmsPackage(pkg, { lazy: true }),
          () => pkg.packageId,
        );
      }),
    );
}

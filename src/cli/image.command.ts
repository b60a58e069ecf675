import type { Command } from 'commander';
import {
  imageRowsOf,
  inspectImage,
  PackageType,
  toSmsImageInformation,
  toSmsPackage,
} from '../catalog/index.js';
import { intArg, type Act } from './command-kit.js';
import { renderImageTable, renderWimFacts } from './image-table.js';

interface ImageNewOptions {
  readonly name: string;
  readonly path: string;
  readonly index?: number;
  readonly version?: string;
  readonly description?: string;
  readonly priority?: number;
}

/** `image new` = New-CMOperatingSystemImage; `image show` / `image inspect` list a WIM's images. */
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
        // A solid or split WIM is accepted, but the admin should know what it means for distribution.
        // With --server the file is on the server's disk, not here: no warnings then.
        if (ctx.server === undefined)
          for (const w of (await inspectImage(o.path)).warnings) ctx.warn(`warning: ${o.path}: ${w}`);
        ctx.result(
          () => toSmsPackage(pkg, { lazy: true }),
          () => pkg.packageId,
        );
      }),
    );

  image
    .command('show')
    .description("the images of an image package's WIM (SMS_ImageInformation)")
    .argument('<PackageID>')
    .action(
      act(async (ctx, packageId: string) => {
        const site = await ctx.site();
        const pkg = await site.packages.get(packageId);
        const rows = await site.packages.listImages(packageId);
        ctx.result(
          () => rows.map(toSmsImageInformation),
          () =>
            `${pkg.packageId} ${pkg.name}: ${pkg.pkgSourcePath ?? ''}` +
            (pkg.imageIndex === null ? '' : ` (deploys image ${pkg.imageIndex})`) +
            `\n${renderImageTable(rows).trimEnd()}`,
        );
      }),
    );

  image
    .command('inspect')
    .description('read a .wim without creating anything (GetImageProperties): its images and header')
    .argument('<path.wim>', 'absolute path of the .wim file')
    .action(
      act(async (ctx, path: string) => {
        const wim = await inspectImage(path);
        const rows = imageRowsOf('', wim, '');
        ctx.result(
          () => ({
            ImageProperty: wim.xml,
            Path: wim.path,
            FileSize: wim.fileSize,
            Header: wim.header,
            Images: rows.map((r) => {
              const { PackageID: _p, Version: _v, ...rest } = toSmsImageInformation(r);
              return { ...rest, Edition: r.edition };
            }),
            Warnings: wim.warnings,
          }),
          () => `${renderWimFacts(wim)}${renderImageTable(rows).trimEnd()}`,
        );
      }),
    );
}

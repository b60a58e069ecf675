import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ImageInfoTable } from '../db/index.js';

type Db = Kysely<Database> | Transaction<Database>;

/** One SMS_ImageInformation row as the catalog keeps it (camelCase). */
export interface ImageInformation {
  readonly packageId: string;
  readonly index: number;
  readonly name: string;
  readonly description: string;
  /** WINDOWS/EDITIONID, else FLAGS. */
  readonly edition: string;
  readonly architecture: number | null;
  readonly imageOsVersion: string;
  readonly language: string;
  readonly halType: string;
  readonly productType: string;
  readonly size: number;
  readonly creationDate: number | null;
  readonly version: string;
}

export function toImageInformation(r: Selectable<ImageInfoTable>): ImageInformation {
  return {
    packageId: r.package_id,
    index: r.image_index,
    name: r.name,
    description: r.description,
    edition: r.edition,
    architecture: r.architecture,
    imageOsVersion: r.image_os_version,
    language: r.language,
    halType: r.hal_type,
    productType: r.product_type,
    size: r.size,
    creationDate: r.creation_date,
    version: r.version,
  };
}

/** The image_info table: rows are only ever replaced as a whole set per package. */
export class ImageInfoRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Replaces every row of `packageId` with `rows` (call inside the transaction that sets ImageProperty). */
  async replace(packageId: string, rows: readonly ImageInformation[], trx: Db = this.db): Promise<void> {
    await trx.deleteFrom('image_info').where('package_id', '=', packageId).execute();
    if (rows.length === 0) return;
    await trx
      .insertInto('image_info')
      .values(
        rows.map((r) => ({
          package_id: packageId,
          image_index: r.index,
          name: r.name,
          description: r.description,
          edition: r.edition,
          architecture: r.architecture,
          image_os_version: r.imageOsVersion,
          language: r.language,
          hal_type: r.halType,
          product_type: r.productType,
          size: r.size,
          creation_date: r.creationDate,
          version: r.version,
        })),
      )
      .execute();
  }

  /** SMS_ImageInformation.Version follows the package's Version. */
  async setVersion(packageId: string, version: string, trx: Db = this.db): Promise<void> {
    await trx.updateTable('image_info').set({ version }).where('package_id', '=', packageId).execute();
  }

  async list(packageId: string, trx: Db = this.db): Promise<ImageInformation[]> {
    const rows = await trx
      .selectFrom('image_info')
      .selectAll()
      .where('package_id', '=', packageId)
      .orderBy('image_index')
      .execute();
    return rows.map(toImageInformation);
  }
}

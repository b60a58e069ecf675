import type { Kysely } from 'kysely';

/**
 * SMS_ImageInformation: one row per image index of an image package's WIM, replaced together with
 * package.image_property whenever the WIM is (re)read.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('image_info')
    .addColumn('package_id', 'varchar(8)', (c) =>
      c.notNull().references('package.package_id').onDelete('cascade'),
    )
    .addColumn('image_index', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    // WINDOWS/EDITIONID, else FLAGS: what `image show` prints beside the name (not an SDK property).
    .addColumn('edition', 'text', (c) => c.notNull())
    .addColumn('architecture', 'integer')
    .addColumn('image_os_version', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('hal_type', 'text', (c) => c.notNull())
    .addColumn('product_type', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('creation_date', 'bigint')
    .addColumn('version', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_info_pk', ['package_id', 'image_index'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('image_info').execute();
}

import { sql, type Kysely } from 'kysely';

/**
 * SMS_DistributionPointGroup: named sets of DPs and the packages assigned to each set. Members and packages
 * go with their group; a DP or package that is deleted leaves the groups it was in.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against any schema state
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('dp_group')
    // A GUID in braces, as Configuration Manager keys its groups.
    .addColumn('group_id', 'varchar(38)', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('modified_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dp_group_member')
    .addColumn('group_id', 'varchar(38)', (c) =>
      c.notNull().references('dp_group.group_id').onDelete('cascade'),
    )
    .addColumn('dp_id', 'integer', (c) =>
      c.notNull().references('distribution_point.dp_id').onDelete('cascade'),
    )
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dp_group_member_pk', ['group_id', 'dp_id'])
    .execute();
  await db.schema.createIndex('dp_group_member_dp').on('dp_group_member').column('dp_id').execute();

  await db.schema
    .createTable('dp_group_package')
    .addColumn('group_id', 'varchar(38)', (c) =>
      c.notNull().references('dp_group.group_id').onDelete('cascade'),
    )
    .addColumn('package_id', 'varchar(8)', (c) =>
      c.notNull().references('package.package_id').onDelete('cascade'),
    )
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dp_group_package_pk', ['group_id', 'package_id'])
    .execute();
  await db.schema.createIndex('dp_group_package_pkg').on('dp_group_package').column('package_id').execute();

  // Lookups of a DP by name or server name (case-insensitive) at thousands of DPs.
  for (const column of ['name', 'server_name', 'nal_path']) {
    await db.schema
      .createIndex(`distribution_point_lower_${column}`)
      .on('distribution_point')
      .expression(sql`lower(${sql.ref(column)})`)
      .execute();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const column of ['name', 'server_name', 'nal_path'])
    await db.schema.dropIndex(`distribution_point_lower_${column}`).execute();
  await db.schema.dropTable('dp_group_package').execute();
  await db.schema.dropTable('dp_group_member').execute();
  await db.schema.dropTable('dp_group').execute();
}

/**
 * Child process for the SQLite locking test: opens the site database at argv[2] and runs argv[3]
 * read-then-write transactions on counter 'n', then prints "ok" (or the error) and exits.
 */
import { openDatabase } from '../../src/db/index.js';
import { bumpCounter } from './sqlite-bump.js';

const [file, count] = process.argv.slice(2);
const site = await openDatabase(file!);
try {
  for (let i = 0; i < Number(count); i++) await bumpCounter(site.db);
  console.log('ok');
} catch (e) {
  console.log(`error: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await site.close();
}

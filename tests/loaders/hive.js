// node hive.js <folder> <format> <events> [<file name>]: read a study downloaded with
// `"partition_naming": "hive"` (files `events.<format>`), or a `bdd export --partition-by`
// folder (files `part-0.<format>`), as DuckDB reads Hive-partitioned folders, and fail unless every
// event is there once and each partition column (decoded from the folder names) equals the
// event's own value, which the same files give when read without hive partitioning. Run by
// hive.sh with NODE_PATH naming the node_modules that holds @duckdb/node-api.
const { DuckDBInstance } = require('@duckdb/node-api');

const [dir, format, expected, name = `events.${format}`] = process.argv.slice(2);

// Values whose escaped folder name passes bdd's 100-byte limit end in '~' and 24 hex digits of
// their SHA-256 (storage::folder_name): a reader sees that, not the value.
const hashed = /~[0-9a-f]{24}$/;

function fail(message) {
  console.error(`FAIL (${format}): ${message}`);
  process.exit(1);
}

// The folder day bdd gives an event (storage::level_value): the UTC day of stored_timestamp,
// else of timestamp, else "unknown-date". Epoch milliseconds are digits only.
function day(text) {
  if (text === null || text === undefined || text === '') return null;
  // Parquet's TIMESTAMP columns (UTC) read as text without a zone: "YYYY-MM-DD hh:mm:ss".
  if (/^\d{4}-\d{2}-\d{2} /.test(text)) return text.slice(0, 10);
  const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
}

function reader(glob, hive) {
  const options = hive ? 'hive_partitioning=true, hive_types_autocast=false'
                       : 'hive_partitioning=false';
  if (format === 'parquet') return `read_parquet('${glob}', ${options}, filename=true)`;
  return format === 'csv'
    ? `read_csv('${glob}', ${options}, all_varchar=true, filename=true)`
    : `read_json('${glob}', ${options}, filename=true)`;
}

(async () => {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const rows = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJson();
  // `*.json` would also match bdd's .metadata.json and .download_history.json (DuckDB's globs
  // match names starting with '.'): the README names the file for json.
  const glob = format === 'json' ? `${dir}/**/${name}` : `${dir}/**/*.${format}`;

  // `name` may hold '*' (a parquet study's part files, `part-*.parquet`).
  const namePattern = new RegExp(
    `^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const files = await rows(`SELECT DISTINCT filename FROM ${reader(glob, false)}`);
  for (const { filename } of files) {
    const base = filename.slice(filename.lastIndexOf('/') + 1);
    if (!namePattern.test(base) || /\/\./.test(filename.slice(dir.length))) {
      fail(`the glob ${glob} matches ${filename}, which is not a data file`);
    }
  }

  const own = await rows(`SELECT id, user_id, event_type, CAST(stored_timestamp AS VARCHAR) s,
                                 CAST("timestamp" AS VARCHAR) t FROM ${reader(glob, false)}`);
  const hive = await rows(`SELECT id, user_id, event_type, date FROM ${reader(glob, true)}`);
  if (own.length !== Number(expected) || hive.length !== Number(expected)) {
    fail(`read ${own.length} events (${hive.length} with hive partitioning), the server has ${expected}`);
  }
  const byId = new Map(own.map((row) => [row.id, row]));
  if (byId.size !== own.length) fail(`${own.length - byId.size} events are there twice`);

  let hashedSeen = 0;
  const same = (column, partition, value) => {
    if (partition === value) return;
    if (hashed.test(partition) && value.startsWith(partition.slice(0, -25))) {
      hashedSeen += 1;
      return;
    }
    fail(`${column} partition ${JSON.stringify(partition)} != the event's ${JSON.stringify(value)}`);
  };
  for (const row of hive) {
    const event = byId.get(row.id);
    if (!event) fail(`event ${row.id} has no twin read without partitioning`);
    same('user_id', row.user_id, event.user_id ?? '');
    same('event_type', row.event_type, event.event_type ?? '');
    const expectedDay = day(event.s) ?? day(event.t) ?? 'unknown-date';
    if (row.date !== expectedDay) {
      fail(`date partition ${row.date} != ${expectedDay} of event ${row.id} (stored ${event.s}, time ${event.t})`);
    }
  }
  const users = new Set(hive.map((row) => row.user_id));
  console.log(`ok: hive ${format} ${name} (${hive.length} events, ${files.length} files, ${users.size} users, ${hashedSeen} hashed values)`);
})().catch((error) => fail(error.message));
